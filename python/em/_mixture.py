"""``em.Mixture``: finite mixtures of the pluggable families of the ``mixture`` crate."""

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _core
from ._gmm import _seed

FAMILIES = ("poisson", "exponential", "gaussian", "bernoulli")


class Mixture(DensityMixin, BaseEstimator):
    """A mixture of K components of one family, fitted by EM in Rust.

    Parameters
    ----------
    family : {"poisson", "exponential", "gaussian", "bernoulli"}
        Poisson on counts, exponential on non-negative reals, Gaussian on reals (one column
        each), Bernoulli on the rows of a 0/1 matrix (D columns, independent coordinates:
        latent class analysis).
    n_components : int
    init_params : {"partition", "random"}
        The family's own partition of the data (quantiles for the scalar families, rows
        grouped around random seed rows for Bernoulli) or random responsibilities.
    n_init, random_state
        Restarts (the best final log-likelihood wins) and their seed.
    tol, max_iter, stopping
        The stopping rule (default: the library's parameter rule at 1e-7).

    Attributes
    ----------
    weights_ : (K,)
    params_ : (K, P)
        One row of parameters per component: λ (poisson), the rate (exponential), mean and
        variance (gaussian), the D probabilities (bernoulli); also under the names
        ``rates_``, ``means_``/``variances_``, ``probabilities_``.
    converged_, n_iter_, lower_bound_, n_features_in_
    """

    def __init__(
        self,
        family="gaussian",
        n_components=1,
        *,
        init_params="partition",
        n_init=3,
        tol=1e-7,
        max_iter=10_000,
        stopping="parameters",
        random_state=None,
    ):
        self.family = family
        self.n_components = n_components
        self.init_params = init_params
        self.n_init = n_init
        self.tol = tol
        self.max_iter = max_iter
        self.stopping = stopping
        self.random_state = random_state

    def _validate(self, X, reset):
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {self.family!r}")
        if self.family != "bernoulli":
            X = np.asarray(X) if not hasattr(X, "shape") else X
            if getattr(X, "ndim", 2) == 1:
                X = np.asarray(X).reshape(-1, 1)
        # Non-finite values and values outside the family's support are the Rust checks'
        # errors, which name the row (and column).
        return validate_data(self, X, reset=reset, dtype=np.float64, ensure_all_finite=False)

    def fit(self, X, y=None):
        """Estimates the weights and the components' parameters."""
        X = self._validate(X, reset=True)
        out = _core.mix_fit(
            self.family,
            X,
            int(self.n_components),
            self.init_params,
            self.stopping,
            float(self.tol),
            int(self.max_iter),
            int(self.n_init),
            _seed(self.random_state),
        )
        self.weights_ = out["weights"]
        self.params_ = out["params"]
        self.converged_ = bool(out["converged"])
        self.n_iter_ = int(out["n_iter"])
        self.lower_bound_ = float(out["lower_bound"])
        return self

    @property
    def rates_(self):
        """λ of each Poisson component, or the rate of each exponential one."""
        check_is_fitted(self, "params_")
        if self.family not in ("poisson", "exponential"):
            raise AttributeError(f"a {self.family} mixture has no rates_")
        return self.params_[:, 0]

    @property
    def means_(self):
        """The mean of each component."""
        check_is_fitted(self, "params_")
        if self.family == "gaussian":
            return self.params_[:, 0]
        if self.family == "poisson":
            return self.params_[:, 0]
        if self.family == "exponential":
            return 1.0 / self.params_[:, 0]
        return self.params_

    @property
    def variances_(self):
        """The variance of each Gaussian component."""
        check_is_fitted(self, "params_")
        if self.family != "gaussian":
            raise AttributeError(f"a {self.family} mixture has no variances_")
        return self.params_[:, 1]

    @property
    def probabilities_(self):
        """p(x_d = 1 | k) of each Bernoulli component: K × D."""
        check_is_fitted(self, "params_")
        if self.family != "bernoulli":
            raise AttributeError(f"a {self.family} mixture has no probabilities_")
        return self.params_

    def _call(self, fn, X):
        check_is_fitted(self, "params_")
        return fn(self.family, self.weights_, self.params_, self._validate(X, reset=False))

    def score_samples(self, X):
        """log p(x_i) of every observation."""
        return self._call(_core.mix_score_samples, X)

    def score(self, X, y=None):
        """The mean log-likelihood."""
        return float(self.score_samples(X).mean())

    def predict_proba(self, X):
        """p(k | x_i)."""
        return self._call(_core.mix_predict_proba, X)

    def predict(self, X):
        """The most probable component of each observation."""
        return self.predict_proba(X).argmax(axis=1)

    def bic(self, X):
        """Bayesian information criterion (lower is better)."""
        return self._call(_core.mix_criteria, X)[0]

    def aic(self, X):
        """Akaike information criterion (lower is better)."""
        return self._call(_core.mix_criteria, X)[1]

    def sample(self, n_samples=1):
        """``(X, y)``: draws (n × 1, or n × D for Bernoulli) and their components."""
        check_is_fitted(self, "params_")
        x, labels = _core.mix_sample(
            self.family, self.weights_, self.params_, int(n_samples), _seed(self.random_state)
        )
        return x, np.asarray(labels, dtype=np.int64)
