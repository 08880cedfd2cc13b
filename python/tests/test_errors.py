"""Typed errors become Python exceptions: ValueError naming row and column, em.FitError for numerical failures."""

import numpy as np
import pytest

import em


@pytest.fixture
def fitted():
    X = np.random.RandomState(0).randn(60, 3)
    return X, em.GaussianMixture(2, random_state=0).fit(X)


def test_fit_error_is_a_runtime_error():
    assert issubclass(em.FitError, RuntimeError)
    assert not issubclass(em.FitError, ValueError)


@pytest.mark.parametrize("method", ["fit", "predict", "score_samples", "e_step_stats"])
def test_nan_is_a_value_error_naming_row_and_column(fitted, method):
    X, gm = fitted
    Y = X.copy()
    Y[7, 2] = np.nan
    target = em.GaussianMixture(2) if method == "fit" else gm
    with pytest.raises(ValueError, match="row 7, column 2"):
        getattr(target, method)(Y)


def test_infinity_is_a_value_error(fitted):
    X, gm = fitted
    Y = X.copy()
    Y[3, 0] = -np.inf
    with pytest.raises(ValueError, match="row 3, column 0"):
        gm.score_samples(Y)


def test_wrong_number_of_features(fitted):
    X, gm = fitted
    with pytest.raises(ValueError, match="features"):
        gm.predict(X[:, :2])


def test_bad_parameters_are_value_errors(fitted):
    X, _ = fitted
    for params in [
        dict(covariance_type="banana"),
        dict(n_components=0),
        dict(tol=-1.0),
        dict(stopping="soon"),
        dict(init_params="psychic"),
        dict(missing_values="maybe"),
        dict(weights_init=[0.2, 0.2], means_init=[[0, 0, 0], [1, 1, 1]], precisions_init=np.stack([np.eye(3)] * 2)),
    ]:
        with pytest.raises(ValueError):
            em.GaussianMixture(**{"n_components": 2, **params}).fit(X)


def test_bad_sample_weight_is_a_value_error(fitted):
    X, _ = fitted
    w = np.ones(len(X))
    w[5] = -1
    with pytest.raises(ValueError):
        em.GaussianMixture(2).fit(X, sample_weight=w)


def test_collapsed_component_is_a_fit_error():
    rs = np.random.RandomState(0)
    X = np.vstack([np.zeros((10, 2)), rs.randn(30, 2) + 5])
    with pytest.raises(em.FitError, match="not positive definite"):
        em.GaussianMixture(2, reg_covar=0, means_init=[[0, 0], [5, 5]]).fit(X)


def test_too_few_rows_is_a_value_error():
    with pytest.raises(ValueError, match="n_samples"):
        em.GaussianMixture(5).fit(np.random.RandomState(0).randn(3, 2))
