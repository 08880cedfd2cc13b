"""em.dask.fit on a local Dask cluster of two worker processes equals the in-memory fit."""

import warnings

import numpy as np
import pytest
from conftest import rel
from sklearn.exceptions import ConvergenceWarning

import em

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
import em.dask  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def data():
    rs = np.random.RandomState(5)
    return np.vstack([rs.randn(3000, 3) @ rs.randn(3, 3) + i * 2.5 for i in range(3)])


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("stop", [dict(tol=0, max_iter=15), dict(tol=1e-6, max_iter=500)])
def test_dask_fit_equals_in_memory_fit(client, data, covariance_type, stop):
    start = em.GaussianMixture(3, covariance_type=covariance_type, random_state=0, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(data[:1000])
        init = dict(weights_init=start.weights_, means_init=start.means_, precisions_init=start.precisions_)
        options = em.GaussianMixture(3, covariance_type=covariance_type, **init, **stop)
        memory = options.fit(data)
        X = da.from_array(data, chunks=(1100, 3))
        distributed_fit = em.dask.fit(X, options, client=client)
    assert distributed_fit.n_iter_ == memory.n_iter_
    assert distributed_fit.converged_ == memory.converged_
    for name in ["weights_", "means_", "covariances_", "precisions_"]:
        assert rel(getattr(distributed_fit, name), getattr(memory, name)) < 1e-10, name
    assert rel(distributed_fit.lower_bound_, memory.lower_bound_) < 1e-10


def test_dask_fit_with_weights_and_its_own_start(client, data):
    X = da.from_array(data, chunks=(2000, 3))
    w = da.from_array(np.linspace(0.5, 1.5, len(data)), chunks=2000)
    gm = em.dask.fit(X, n_components=3, random_state=0, sample_weight=w, tol=1e-6, max_iter=500, client=client)
    assert gm.converged_
    assert np.isclose(gm.weights_.sum(), 1.0)
    assert gm.predict(data).shape == (len(data),)
