"""em.Mixture: the pluggable families through Python."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

import em


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(0)


def _fixed_point(model, X, stat):
    """At the optimum the parameters are the responsibility-weighted statistics of the data."""
    gamma = model.predict_proba(X)
    assert np.allclose(model.weights_, gamma.mean(axis=0), rtol=1e-6, atol=1e-9)
    return (gamma * stat[:, None]).sum(0) / gamma.sum(0)


def test_poisson(rng):
    y = np.concatenate([rng.poisson(1.0, 600), rng.poisson(10.0, 400)])
    m = em.Mixture("poisson", 2, random_state=0).fit(y)
    assert m.converged_
    order = np.argsort(m.rates_)
    assert np.allclose(m.rates_[order], [1.0, 10.0], atol=0.4)
    assert np.allclose(m.rates_, _fixed_point(m, y, y.astype(float)), rtol=1e-6)
    assert abs(m.score(y) - m.lower_bound_) < 1e-9
    x, labels = m.sample(100)
    assert x.shape == (100, 1) and (x == np.round(x)).all() and labels.shape == (100,)


def test_exponential(rng):
    x = np.concatenate([rng.exponential(1.0, 600), rng.exponential(20.0, 400)])
    m = em.Mixture("exponential", 2, random_state=0).fit(x)
    assert m.converged_
    assert np.allclose(np.sort(m.means_), [1.0, 20.0], rtol=0.25)
    assert np.allclose(m.means_, _fixed_point(m, x, x), rtol=1e-6)


def test_gaussian(rng):
    x = np.concatenate([rng.normal(0.0, 1.0, 600), rng.normal(6.0, 2.0, 400)])
    m = em.Mixture("gaussian", 2, random_state=0).fit(x[:, None])
    assert m.converged_
    assert np.allclose(np.sort(m.means_), [0.0, 6.0], atol=0.3)
    assert np.allclose(m.means_, _fixed_point(m, x, x), rtol=1e-6, atol=1e-9)
    assert m.variances_.shape == (2,)


def test_bernoulli_latent_classes(rng):
    p = np.where(np.arange(800)[:, None] < 400, 0.85, 0.15)
    B = (rng.random((800, 6)) < p).astype(float)
    m = em.Mixture("bernoulli", 2, random_state=0).fit(B)
    assert m.converged_
    assert m.probabilities_.shape == (2, 6)
    assert np.allclose(np.sort(m.probabilities_.mean(axis=1)), [0.15, 0.85], atol=0.05)
    labels = m.predict(B)
    assert (labels[:400] == labels[0]).mean() > 0.95 and (labels[400:] != labels[0]).mean() > 0.95
    draws, _ = m.sample(10)
    assert draws.shape == (10, 6) and set(np.unique(draws)) <= {0.0, 1.0}


def test_clone_and_pickle(rng):
    y = rng.poisson(3.0, 200)
    m = em.Mixture("poisson", 2, random_state=1)
    assert clone(m).get_params() == m.get_params()
    m.fit(y)
    again = pickle.loads(pickle.dumps(m))
    assert np.array_equal(again.predict_proba(y), m.predict_proba(y))


@pytest.mark.parametrize(
    "family, X, message",
    [
        ("poisson", np.array([1.0, 2.0, -3.0]), "row 2"),
        ("poisson", np.array([1.0, 2.5, 3.0]), "row 1"),
        ("bernoulli", np.array([[0.0, 1.0], [1.0, 0.5]]), "row 1, column 1"),
        ("exponential", np.array([1.0, 2.0, np.nan]), "row 2"),
        ("cauchy", np.array([1.0, 2.0]), "family"),
    ],
)
def test_bad_data_are_value_errors_naming_the_row(family, X, message):
    with pytest.raises(ValueError, match=message):
        em.Mixture(family, 2).fit(X)
