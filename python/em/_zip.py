"""``em.ZeroInflatedPoisson``: p(0) = π + (1 − π) e^{−λ}, p(y) = (1 − π) Poisson(y; λ) for y > 0."""

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils.validation import check_is_fitted

from . import _core
from ._gmm import _seed


def _counts(y):
    """Counts as a float64 vector (Rust checks each is a whole number >= 0, naming the row)."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"expected a 1-D array of counts (or one column), got shape {y.shape}")
    return np.ascontiguousarray(y)


class ZeroInflatedPoisson(DensityMixin, BaseEstimator):
    """The zero-inflated Poisson fitted by EM from the moment start.

    Parameters
    ----------
    tol, max_iter, stopping
        The stopping rule (default: the library's parameter rule at 1e-7, within 10,000
        iterations); ``stopping`` is one of "parameters", "aitken", "objective-change".

    Attributes
    ----------
    pi_ : float
        The probability of a structural zero.
    lambda_ : float
        The Poisson rate.
    converged_, n_iter_, lower_bound_
        As scikit-learn's mixtures (``lower_bound_`` is the mean log-likelihood).
    """

    def __init__(self, *, tol=1e-7, max_iter=10_000, stopping="parameters", random_state=None):
        self.tol = tol
        self.max_iter = max_iter
        self.stopping = stopping
        self.random_state = random_state

    def fit(self, y, x=None):
        """Fits π and λ to the counts ``y``."""
        y = _counts(y)
        out = _core.zip_fit(y, self.stopping, float(self.tol), int(self.max_iter))
        self.pi_ = float(out["pi"])
        self.lambda_ = float(out["lambda"])
        self.converged_ = bool(out["converged"])
        self.n_iter_ = int(out["n_iter"])
        self.lower_bound_ = float(out["lower_bound"])
        return self

    def score_samples(self, y):
        """log p(y_i) of every count."""
        check_is_fitted(self)
        return _core.zip_score_samples(self.pi_, self.lambda_, _counts(y))

    def score(self, y, x=None):
        """The mean log-likelihood of the counts."""
        return float(self.score_samples(y).mean())

    def predict_proba(self, y):
        """p(structural zero | y_i) and p(Poisson | y_i), one row per count."""
        check_is_fitted(self)
        p = _core.zip_structural_zero_proba(self.pi_, self.lambda_, _counts(y))
        return np.column_stack([p, 1.0 - p])

    def sample(self, n_samples=1):
        """``(y, structural)``: counts and whether each is a structural zero."""
        check_is_fitted(self)
        y, z = _core.zip_sample(self.pi_, self.lambda_, int(n_samples), _seed(self.random_state))
        return np.asarray(y, dtype=np.int64), np.asarray(z, dtype=bool)

    @property
    def mean_(self):
        """E[y] = (1 − π) λ."""
        check_is_fitted(self)
        return (1.0 - self.pi_) * self.lambda_
