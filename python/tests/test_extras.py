"""The library's extras through Python: sample weights, priors, SQUAREM, stopping rules, missing
values, threads, memory layouts and the GIL."""

import threading
import time
import warnings

import numpy as np
import pytest
from conftest import rel
from sklearn.exceptions import ConvergenceWarning

import em


def test_sample_weight_two_equals_duplicated_rows(blobs):
    start = em.GaussianMixture(3, random_state=0, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(blobs)
    init = dict(weights_init=start.weights_, means_init=start.means_, precisions_init=start.precisions_)
    a = em.GaussianMixture(3, tol=0, max_iter=20, **init)
    b = em.GaussianMixture(3, tol=0, max_iter=20, **init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a.fit(blobs, sample_weight=np.full(len(blobs), 2.0))
        b.fit(np.vstack([blobs, blobs]))
    assert rel(a.means_, b.means_) < 1e-10
    assert rel(a.covariances_, b.covariances_) < 1e-10


def test_library_stopping_rule_reaches_a_higher_likelihood(blobs):
    sk = em.GaussianMixture(3, random_state=0).fit(blobs)
    tight = em.GaussianMixture(3, random_state=0, stopping="parameters", tol=1e-7, max_iter=10_000).fit(blobs)
    assert tight.converged_
    assert tight.score(blobs) >= sk.score(blobs) - 1e-9


def test_squarem_reaches_the_same_optimum_in_fewer_iterations(blobs):
    kw = dict(random_state=0, stopping="parameters", tol=1e-8, max_iter=10_000)
    plain = em.GaussianMixture(3, **kw).fit(blobs)
    fast = em.GaussianMixture(3, acceleration="squarem", **kw).fit(blobs)
    assert fast.converged_ and plain.converged_
    assert fast.n_iter_ < plain.n_iter_
    assert abs(fast.score(blobs) - plain.score(blobs)) < 1e-6


def test_prior_default_and_given(blobs):
    gm = em.GaussianMixture(3, random_state=0, prior="default").fit(blobs)
    assert gm.prior_ is not None and gm.prior_["mean"].shape == (3,)
    given = em.GaussianMixture(3, random_state=0, prior=gm.prior_).fit(blobs)
    assert rel(given.means_, gm.means_) < 1e-10
    with pytest.raises(ValueError):
        em.GaussianMixture(3, prior={"dof": 5}).fit(blobs)


def test_missing_values_modelled(blobs):
    X = blobs.copy()
    rs = np.random.RandomState(3)
    X[rs.rand(*X.shape) < 0.1] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0
    with pytest.raises(ValueError, match="row"):
        em.GaussianMixture(3).fit(X)
    gm = em.GaussianMixture(3, random_state=0, missing_values="model").fit(X)
    assert gm.__sklearn_tags__().input_tags.allow_nan
    assert np.isfinite(gm.score_samples(X)).all()
    filled = gm.impute(X)
    assert not np.isnan(filled).any()
    assert np.array_equal(filled[~np.isnan(X)], X[~np.isnan(X)])


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_memory_layouts_give_identical_fits(blobs, layout):
    reference = em.GaussianMixture(3, random_state=0).fit(np.ascontiguousarray(blobs))
    X = {"C": np.ascontiguousarray(blobs), "F": np.asfortranarray(blobs), "strided": np.repeat(blobs, 2, axis=1)[:, ::2]}[layout]
    gm = em.GaussianMixture(3, random_state=0).fit(X)
    assert np.array_equal(gm.means_, reference.means_)
    assert np.array_equal(gm.predict_proba(X), reference.predict_proba(blobs))


def test_threads_do_not_change_the_result(blobs):
    one = em.GaussianMixture(3, random_state=0, n_threads=1).fit(blobs)
    two = em.GaussianMixture(3, random_state=0, n_threads=2).fit(blobs)
    assert np.array_equal(one.means_, two.means_)


def test_the_gil_is_released_during_a_fit():
    rs = np.random.RandomState(0)
    X = np.vstack([rs.randn(100_000, 4), rs.randn(100_000, 4) + 1.0])
    # Long enough (about 0.35 s on the 2-core build machine) that the check below has a margin
    # over `elapsed > 0.1` (40 iterations once took 0.0998 s there).
    gm = em.GaussianMixture(2, random_state=0, n_threads=1, tol=0, max_iter=150)

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm.fit(X)

    worker = threading.Thread(target=fit)
    worker.start()
    t0 = last = time.perf_counter()
    longest_gap = 0.0
    while worker.is_alive():
        time.sleep(0.001)
        now = time.perf_counter()
        longest_gap = max(longest_gap, now - last)
        last = now
    elapsed = time.perf_counter() - t0
    worker.join()
    # Were the GIL held during the Rust call, this thread would stall for the whole fit (a gap
    # of nearly all of `elapsed`); the margin allows for a loaded machine, where the other
    # threads of the suite (BLAS, Dask) can delay this one's wake-ups.
    assert elapsed > 0.1, elapsed
    assert longest_gap < 0.75 * elapsed, (longest_gap, elapsed)
