"""E-step statistics: mergeable, picklable, and the M-step of merged statistics is the in-memory EM step."""

import pickle
import warnings

import numpy as np
import pytest
from conftest import rel
from sklearn.exceptions import ConvergenceWarning

import em

TYPES = ["full", "tied", "diag", "spherical"]


@pytest.mark.parametrize("covariance_type", TYPES)
def test_merged_chunks_step_like_the_in_memory_fit(blobs, covariance_type):
    start = em.GaussianMixture(3, covariance_type=covariance_type, random_state=0, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(blobs)
        init = dict(weights_init=start.weights_, means_init=start.means_, precisions_init=start.precisions_)
        one = em.GaussianMixture(3, covariance_type=covariance_type, tol=0, max_iter=1, **init).fit(blobs)
    chunks = np.array_split(blobs, 7)
    stats = sum(start.e_step_stats(c) for c in chunks)
    whole = start.e_step_stats(blobs)
    assert stats.n_rows == len(blobs)
    assert rel(stats.log_likelihood, whole.log_likelihood) < 1e-12
    assert rel(stats.resp_sum, whole.resp_sum) < 1e-12
    assert rel(stats.log_likelihood / len(blobs), one.lower_bound_) < 1e-12
    start.m_step(stats)
    for name in ["weights_", "means_", "covariances_", "precisions_"]:
        assert rel(getattr(start, name), getattr(one, name)) < 1e-10, name


def test_stats_pickle_exactly(blobs):
    gm = em.GaussianMixture(3, random_state=0).fit(blobs)
    stats = gm.e_step_stats(blobs[:100]).merge(gm.e_step_stats(blobs[100:]))
    again = pickle.loads(pickle.dumps(stats))
    assert again.log_likelihood == stats.log_likelihood
    assert np.array_equal(again.resp_sum, stats.resp_sum)
    a = gm.__class__(**gm.get_params()).set_params(warm_start=True)
    a.__dict__.update({k: v for k, v in gm.__dict__.items() if k.endswith("_")})
    b = pickle.loads(pickle.dumps(a))
    a.m_step(stats)
    b.m_step(again)
    assert np.array_equal(a.means_, b.means_)
    assert np.array_equal(a.covariances_, b.covariances_)


def test_sample_weights_in_statistics(blobs):
    gm = em.GaussianMixture(3, random_state=0).fit(blobs)
    doubled = gm.e_step_stats(np.vstack([blobs, blobs]))
    weighted = gm.e_step_stats(blobs, sample_weight=np.full(len(blobs), 2.0))
    assert rel(weighted.resp_sum, doubled.resp_sum) < 1e-12
    assert rel(weighted.log_likelihood, doubled.log_likelihood) < 1e-12


def test_statistics_of_other_models_do_not_merge(blobs):
    a = em.GaussianMixture(3, random_state=0).fit(blobs)
    b = em.GaussianMixture(2, random_state=0).fit(blobs)
    c = em.GaussianMixture(3, covariance_type="diag", random_state=0).fit(blobs)
    with pytest.raises(ValueError):
        a.e_step_stats(blobs).merge(b.e_step_stats(blobs))
    with pytest.raises(ValueError):
        a.m_step(c.e_step_stats(blobs))
    with pytest.raises(TypeError):
        a.e_step_stats(blobs) + 1.0
