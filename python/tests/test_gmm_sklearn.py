"""em.GaussianMixture against scikit-learn: the estimator checks, and the same fit from the same start."""

import pickle
import warnings

import numpy as np
import pytest
from conftest import rel
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from sklearn.utils.estimator_checks import check_estimator

import em

TYPES = ["full", "tied", "diag", "spherical"]

# Checks that sklearn skips for reasons of the environment, not of the estimator; every other
# check must pass (see docs/python.md).
ENVIRONMENT_SKIPS = {"check_sample_weights_pandas_series", "check_array_api_input"}


def test_check_estimator_passes():
    results = check_estimator(em.GaussianMixture(), on_fail=None, on_skip=None)
    failed = [(r["check_name"], repr(r["exception"])) for r in results if r["status"] == "failed"]
    assert failed == []
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= ENVIRONMENT_SKIPS, skipped
    assert len(results) >= 40


def _start(X, covariance_type):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SkGaussianMixture(3, covariance_type=covariance_type, random_state=0, max_iter=2).fit(X)
    return dict(weights_init=sk.weights_, means_init=sk.means_, precisions_init=sk.precisions_)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize(
    "stop", [dict(tol=0, max_iter=7), dict(tol=1e-3, max_iter=200), dict(tol=1e-7, max_iter=500)]
)
def test_same_fit_as_scikit_learn_from_the_same_start(blobs, covariance_type, stop):
    start = _start(blobs, covariance_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        want = SkGaussianMixture(3, covariance_type=covariance_type, **start, **stop).fit(blobs)
        got = em.GaussianMixture(3, covariance_type=covariance_type, **start, **stop).fit(blobs)
    assert got.n_iter_ == want.n_iter_
    assert got.converged_ == want.converged_
    for name in ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]:
        assert rel(getattr(got, name), getattr(want, name)) < 1e-8, name
    assert rel(got.lower_bound_, want.lower_bound_) < 1e-8
    assert rel(got.lower_bounds_, want.lower_bounds_) < 1e-8
    assert rel(got.predict_proba(blobs), want.predict_proba(blobs)) < 1e-8
    assert rel(got.score_samples(blobs), want.score_samples(blobs)) < 1e-8
    assert rel(got.bic(blobs), want.bic(blobs)) < 1e-8
    assert rel(got.aic(blobs), want.aic(blobs)) < 1e-8
    assert (got.predict(blobs) == want.predict(blobs)).all()


def test_warm_start_continues_like_scikit_learn(blobs):
    start = _start(blobs, "full")
    kw = dict(tol=0, max_iter=3, warm_start=True, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        want = SkGaussianMixture(3, **kw).fit(blobs).fit(blobs)
        got = em.GaussianMixture(3, **kw).fit(blobs).fit(blobs)
    assert rel(got.means_, want.means_) < 1e-8
    assert rel(got.covariances_, want.covariances_) < 1e-8


def test_fit_from_its_own_start_finds_the_clusters():
    rs = np.random.RandomState(0)
    X = np.vstack([rs.randn(200, 2), rs.randn(200, 2) + 8])
    gm = em.GaussianMixture(2, random_state=0).fit(X)
    assert gm.converged_
    assert sorted(np.round(gm.weights_, 1)) == [0.5, 0.5]
    labels = gm.fit_predict(X)
    assert labels[0] != labels[-1]
    assert (labels == gm.predict(X)).all()
    assert gm.n_features_in_ == 2


def test_clone_get_params_and_pickle(blobs):
    gm = em.GaussianMixture(3, covariance_type="diag", random_state=4, prior="default")
    assert clone(gm).get_params() == gm.get_params()
    gm.fit(blobs)
    again = pickle.loads(pickle.dumps(gm))
    assert np.array_equal(again.predict_proba(blobs), gm.predict_proba(blobs))
    assert again.get_params() == gm.get_params()


def test_random_state_makes_fits_reproducible(blobs):
    a = em.GaussianMixture(3, n_init=2, random_state=7).fit(blobs)
    b = em.GaussianMixture(3, n_init=2, random_state=7).fit(blobs)
    assert np.array_equal(a.means_, b.means_)


def test_sample_draws_from_the_model(blobs):
    gm = em.GaussianMixture(3, random_state=0).fit(blobs)
    X, y = gm.sample(4000)
    assert X.shape == (4000, 3) and y.shape == (4000,)
    assert abs(np.bincount(y, minlength=3) / 4000 - gm.weights_).max() < 0.05
    with pytest.raises(ValueError):
        gm.sample(0)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_means_init_alone_starts_from_the_nearest_rows(blobs, covariance_type):
    rs = np.random.RandomState(2)
    X = np.vstack([rs.randn(100, 2) + c for c in ([0, 0], [10, 0], [0, 10])])
    gm = em.GaussianMixture(3, covariance_type=covariance_type, means_init=X[[0, 100, 200]]).fit(X)
    assert gm.converged_
    # Component k starts at (and stays with) the cluster of given mean k.
    assert (gm.predict(X) == np.repeat([0, 1, 2], 100)).all()
    assert np.allclose(gm.weights_, 1 / 3, atol=1e-3)
    with pytest.raises(ValueError, match="means_init"):
        em.GaussianMixture(3, weights_init=[0.2, 0.3, 0.5]).fit(blobs)
