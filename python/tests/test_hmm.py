"""em.GaussianHMM against hmmlearn's GaussianHMM from the same start."""

import pickle
import warnings

import numpy as np
import pytest
from conftest import rel

import em

hmmlearn = pytest.importorskip("hmmlearn.hmm")


@pytest.fixture(scope="module")
def sequences():
    true = hmmlearn.GaussianHMM(3, "full", init_params="")
    true.startprob_ = np.array([0.6, 0.3, 0.1])
    true.transmat_ = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    true.means_ = np.array([[0.0, 0.0], [3.0, 3.0], [-3.0, 3.0]])
    true.covars_ = np.array([np.eye(2) * 0.5] * 3)
    seqs = [true.sample(n, random_state=i)[0] for i, n in enumerate([100, 60, 1, 40])]
    return np.vstack(seqs), [len(s) for s in seqs]


def _start(covariance_type, d=2):
    covars = {
        "full": np.array([np.eye(d) * 2.0, [[1.0, 0.3], [0.3, 1.0]], np.eye(d)]),
        "diag": np.array([[2.0, 1.0], [1.0, 1.0], [0.5, 1.5]]),
        "spherical": np.array([2.0, 1.0, 0.7]),
        "tied": np.array([[1.5, 0.2], [0.2, 1.0]]),
    }[covariance_type]
    return dict(
        startprob_=np.array([0.4, 0.4, 0.2]),
        transmat_=np.array([[0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.3, 0.3, 0.4]]),
        means_=np.array([[0.5, 0.5], [2.0, 2.5], [-2.0, 2.0]]),
        covars_=covars,
    )


def _set(model, start):
    for k, v in start.items():
        setattr(model, k, v.copy())
    return model


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
@pytest.mark.parametrize("stop", [dict(n_iter=5, tol=-np.inf), dict(n_iter=300, tol=1e-2), dict(n_iter=300, tol=1e-8)])
def test_same_fit_as_hmmlearn_from_the_same_start(sequences, covariance_type, stop):
    X, lengths = sequences
    start = _start(covariance_type)
    want = _set(hmmlearn.GaussianHMM(3, covariance_type, init_params="", covars_prior=0, means_prior=0, **stop), start)
    got = _set(em.GaussianHMM(3, covariance_type, init_params="", **stop), start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want.fit(X, lengths)
    got.fit(X, lengths)
    assert got.monitor_.iter == want.monitor_.iter
    assert got.monitor_.converged == want.monitor_.converged
    for name in ["startprob_", "transmat_", "means_"]:
        assert rel(getattr(got, name), getattr(want, name)) < 1e-8, name
    if covariance_type == "spherical":
        # hmmlearn keeps the spherical variances repeated over the features (and its covars_
        # getter then has K·D matrices): compare the variances.
        want_var = np.asarray(want._covars_)
        assert rel(got._covars_, want_var[:, 0] if want_var.ndim == 2 else want_var) < 1e-8
    else:
        assert rel(got.covars_, want.covars_) < 1e-8
    assert rel(got.monitor_.history[-1], want.monitor_.history[-1]) < 1e-8
    assert rel(got.score(X, lengths), want.score(X, lengths)) < 1e-8
    assert rel(got.predict_proba(X, lengths), want.predict_proba(X, lengths)) < 1e-8
    logp, states = got.decode(X, lengths)
    want_logp, want_states = want.decode(X, lengths)
    assert rel(logp, want_logp) < 1e-8
    assert (states == want_states).all()
    assert (got.predict(X, lengths) == want.predict(X, lengths)).all()


def test_fit_from_its_own_start_and_sample(sequences):
    X, lengths = sequences
    model = em.GaussianHMM(3, "full", n_iter=100, random_state=0).fit(X, lengths)
    assert model.startprob_.shape == (3,) and model.transmat_.shape == (3, 3)
    assert np.allclose(model.transmat_.sum(axis=1), 1.0)
    x, z = model.sample(50)
    assert x.shape == (50, 2) and z.shape == (50,)
    again = pickle.loads(pickle.dumps(model))
    assert again.score(X, lengths) == model.score(X, lengths)


def test_bad_lengths_and_missing_start_are_value_errors(sequences):
    X, lengths = sequences
    with pytest.raises(ValueError, match="lengths"):
        em.GaussianHMM(2).fit(X, [5, 5])
    with pytest.raises(ValueError, match="init_params"):
        em.GaussianHMM(2, init_params="").fit(X, lengths)
    with pytest.raises(ValueError, match="params"):
        em.GaussianHMM(2, params="st").fit(X, lengths)


@pytest.fixture(scope="module")
def symbols():
    true = hmmlearn.CategoricalHMM(2, init_params="")
    true.startprob_ = np.array([0.7, 0.3])
    true.transmat_ = np.array([[0.9, 0.1], [0.2, 0.8]])
    true.emissionprob_ = np.array([[0.6, 0.3, 0.1, 0.0], [0.1, 0.2, 0.3, 0.4]])
    seqs = [true.sample(n, random_state=i)[0] for i, n in enumerate([80, 1, 50])]
    return np.vstack(seqs), [len(s) for s in seqs]


@pytest.mark.parametrize("stop", [dict(n_iter=5, tol=-np.inf), dict(n_iter=300, tol=1e-2), dict(n_iter=500, tol=1e-8)])
def test_categorical_same_fit_as_hmmlearn_from_the_same_start(symbols, stop):
    X, lengths = symbols
    start = dict(
        startprob_=np.array([0.5, 0.5]),
        transmat_=np.array([[0.6, 0.4], [0.3, 0.7]]),
        emissionprob_=np.array([[0.3, 0.3, 0.2, 0.2], [0.1, 0.3, 0.3, 0.3]]),
    )
    want = _set(hmmlearn.CategoricalHMM(2, init_params="", **stop), start)
    got = _set(em.CategoricalHMM(2, init_params="", **stop), start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want.fit(X, lengths)
    got.fit(X, lengths)
    assert got.monitor_.iter == want.monitor_.iter
    assert got.monitor_.converged == want.monitor_.converged
    for name in ["startprob_", "transmat_", "emissionprob_"]:
        assert rel(getattr(got, name), getattr(want, name)) < 1e-8, name
    assert rel(got.monitor_.history[-1], want.monitor_.history[-1]) < 1e-8
    assert rel(got.score(X, lengths), want.score(X, lengths)) < 1e-8
    assert rel(got.predict_proba(X, lengths), want.predict_proba(X, lengths)) < 1e-8
    assert rel(got.decode(X, lengths)[0], want.decode(X, lengths)[0]) < 1e-8
    assert (got.predict(X, lengths) == want.predict(X, lengths)).all()


def test_categorical_errors_name_the_row(symbols):
    X, lengths = symbols
    with pytest.raises(ValueError, match="row 2"):
        em.CategoricalHMM(2).fit(np.array([[0], [1], [-1]]))
    model = em.CategoricalHMM(2, n_iter=20, random_state=0).fit(X, lengths)
    assert model.emissionprob_.shape == (2, 4)
    with pytest.raises(ValueError, match="symbol 7 is out of range"):
        model.score(np.array([[0], [7]]))
    x, z = model.sample(30)
    assert x.shape == (30, 1) and z.shape == (30,)
