import numpy as np
import pytest

import em


def test_recovers_parameters_and_matches_moments():
    rs = np.random.RandomState(0)
    n = 20_000
    y = np.where(rs.rand(n) < 0.3, 0, rs.poisson(4.0, n))
    m = em.ZeroInflatedPoisson().fit(y)
    assert m.converged_
    assert abs(m.pi_ - 0.3) < 0.02 and abs(m.lambda_ - 4.0) < 0.1
    assert abs(m.mean_ - y.mean()) < 1e-8  # at the MLE the fitted mean is the sample mean
    p = m.predict_proba(y)
    assert p.shape == (n, 2) and (p[y > 0, 0] == 0).all()
    assert abs(m.score(y) - m.lower_bound_) < 1e-9
    draws, structural = m.sample(1000)
    assert (draws[structural] == 0).all()


@pytest.mark.parametrize("bad", [[1, 2, -1, 0], [1, 2.5, 0, 3]])
def test_bad_counts_are_value_errors_naming_the_row(bad):
    with pytest.raises(ValueError, match="2|1"):
        em.ZeroInflatedPoisson().fit(np.array(bad, dtype=float))


def test_all_zero_counts_are_an_error():
    with pytest.raises((ValueError, em.FitError)):
        em.ZeroInflatedPoisson().fit(np.zeros(10))
