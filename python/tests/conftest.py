import numpy as np
import pytest


def rel(a, b):
    """max |a − b| / max |b|: the difference relative to the array's scale."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.fixture(scope="session")
def blobs():
    """Three overlapping, correlated clusters in 3-D (450 rows)."""
    rs = np.random.RandomState(1)
    return np.vstack([rs.randn(150, 3) @ rs.randn(3, 3) + i * 3 for i in range(3)])
