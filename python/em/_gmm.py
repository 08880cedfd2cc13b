"""``em.GaussianMixture``: scikit-learn's estimator over the Rust crates' stateless functions.

The estimator keeps its state (parameters and fitted attributes) in plain Python attributes and
hands them to ``em._core`` on every call, so that ``clone``, ``get_params`` and pickling work as
for any scikit-learn estimator and the Rust side never holds a model between calls.
"""

import warnings

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _core
from ._stats import SufficientStats

_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_STOPPING = ("sklearn", "objective-change", "aitken", "parameters")


def _seed(random_state):
    """A 64-bit seed for the Rust generators, drawn scikit-learn's way from ``random_state``
    (so an int gives the same fit every time and a ``RandomState`` advances)."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _precision_cholesky(covariances, covariance_type):
    """scikit-learn's ``precisions_cholesky_`` of the covariances (see its
    ``_compute_precision_cholesky``): the upper-triangular U with precision = U Uᵀ."""
    if covariance_type in ("full", "tied"):
        stack = covariances if covariance_type == "full" else covariances[None]
        out = np.empty_like(stack)
        for k, cov in enumerate(stack):
            chol = linalg.cholesky(cov, lower=True)
            out[k] = linalg.solve_triangular(chol, np.eye(cov.shape[0]), lower=True).T
        return out if covariance_type == "full" else out[0]
    return 1.0 / np.sqrt(covariances)


def _precisions(prec_chol, covariance_type):
    if covariance_type == "full":
        return np.einsum("kij,klj->kil", prec_chol, prec_chol)
    if covariance_type == "tied":
        return prec_chol @ prec_chol.T
    return prec_chol**2


def _prior_dict(prior, n_features):
    """A user's prior (a dict of the conjugate prior's hyper-parameters) as the Rust side reads it."""
    keys = {"weight_concentration", "mean", "mean_precision", "dof", "scale"}
    if not isinstance(prior, dict) or set(prior) != keys:
        raise ValueError(
            f"prior must be None, 'default' or a dict with the keys {sorted(keys)}, got {prior!r}"
        )
    out = dict(prior)
    out["mean"] = np.asarray(prior["mean"], dtype=np.float64).reshape(-1)
    out["scale"] = np.asarray(prior["scale"], dtype=np.float64)
    for name in ("weight_concentration", "mean_precision", "dof"):
        out[name] = float(prior[name])
    if out["mean"].shape != (n_features,):
        raise ValueError(
            f"prior['mean'] has {out['mean'].shape[0]} values, the data has {n_features} features"
        )
    return out


def _fresh_online_state():
    """Online EM's state before its first update (``partial_fit``)."""
    return {"running": None, "weight": 0.0, "updates": 0, "n_seen": 0}


class GaussianMixture(DensityMixin, BaseEstimator):
    """A Gaussian mixture fitted by EM in Rust, with scikit-learn's parameters and attributes.

    The parameters and defaults up to ``verbose_interval`` are scikit-learn's, so that a
    ``sklearn.mixture.GaussianMixture`` can be swapped for this class; from the same initial
    parameters (``weights_init``, ``means_init``, ``precisions_init``) the fits agree to
    rounding. The rest are this library's extras:

    prior : None, "default" or dict
        A conjugate prior (MAP-EM): "default" is mclust's data-dependent prior, a dict gives
        ``weight_concentration``, ``mean`` (D), ``mean_precision``, ``dof`` and ``scale``
        (D×D). ``lower_bound_`` then includes the log-prior.
    stopping : {"sklearn", "objective-change", "aitken", "parameters"}
        "sklearn" (default) is scikit-learn's rule with its iteration semantics; the others
        are the library's rules at ``tol`` (``"parameters"`` with ``tol=1e-7`` is the Rust
        crate's default, which stops far closer to the optimum than ``tol=1e-3`` on the
        log-likelihood's change).
    acceleration : None or "squarem"
        SQUAREM acceleration of EM (``n_iter_`` then counts SQUAREM cycles).
    missing_values : {"error", "model"}
        What a NaN in ``X`` is: an error (a ``ValueError`` naming row and column) or a missing
        value, modelled exactly (each row counts through its observed coordinates).
    n_threads : None or int
        E-step worker threads (default: all cores). Results do not depend on it.
    learning_decay : float in (0.5, 1]
        α of online EM's step sizes (t + 2)^(−α), for ``partial_fit`` (default 0.7, as
        scikit-learn's ``LatentDirichletAllocation``).
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        prior=None,
        stopping="sklearn",
        acceleration=None,
        missing_values="error",
        n_threads=None,
        learning_decay=0.7,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.prior = prior
        self.stopping = stopping
        self.acceleration = acceleration
        self.missing_values = missing_values
        self.n_threads = n_threads
        self.learning_decay = learning_decay

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.missing_values == "model"
        return tags

    # -- checks ---------------------------------------------------------------------------

    def _check_parameters(self):
        if self.covariance_type not in _COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {_COVARIANCE_TYPES}, got {self.covariance_type!r}"
            )
        if self.stopping not in _STOPPING:
            raise ValueError(f"stopping must be one of {_STOPPING}, got {self.stopping!r}")
        if self.acceleration not in (None, "squarem"):
            raise ValueError(f"acceleration must be None or 'squarem', got {self.acceleration!r}")
        if self.missing_values not in ("error", "model"):
            raise ValueError(
                f"missing_values must be 'error' or 'model', got {self.missing_values!r}"
            )
        for name in ("n_components", "max_iter", "n_init"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        for name in ("tol", "reg_covar"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    def _validate(self, X, reset):
        # NaN and infinity are left to the Rust checks, whose errors name the row and column
        # (and which accept NaN as a missing value with missing_values="model").
        return validate_data(
            self,
            X,
            reset=reset,
            dtype=np.float64,
            ensure_min_samples=2 if reset else 1,
            ensure_all_finite=False,
        )

    # -- the state handed to Rust ------------------------------------------------------------

    def _model(self):
        """The fitted parameters as ``em._core`` reads them."""
        return {
            "weights": self.weights_,
            "means": self.means_,
            "covariances": self.covariances_,
            "covariance_type": self.covariance_type,
            "reg_covar": float(self.reg_covar),
            "missing_values": self.missing_values,
            "prior": self.prior_,
        }

    def _start(self, X):
        """The given start as a dict for Rust, and whether its covariances are precisions;
        ``(None, False)`` when the start is computed (``init_params``)."""
        if self.warm_start and hasattr(self, "weights_"):
            model = self._model()
            return model, False
        if self.means_init is None:
            if self.weights_init is not None or self.precisions_init is not None:
                raise ValueError(
                    "weights_init and precisions_init need means_init in em.GaussianMixture "
                    "(the rest of the start is computed from the nearest given means)"
                )
            return None, False
        means = np.asarray(self.means_init, dtype=np.float64)
        if means.shape != (self.n_components, X.shape[1]):
            raise ValueError(
                f"means_init must have shape {(self.n_components, X.shape[1])}, got {means.shape}"
            )
        if self.weights_init is not None and self.precisions_init is not None:
            return {
                "weights": np.asarray(self.weights_init, dtype=np.float64),
                "means": means,
                "covariances": np.asarray(self.precisions_init, dtype=np.float64),
            }, True
        # A partial start: the missing parts from the rows nearest to each given mean.
        if not np.isfinite(X).all() and self.missing_values == "error":
            row, col = np.argwhere(~np.isfinite(X))[0]
            raise ValueError(f"non-finite value {X[row, col]} at row {row}, column {col}")
        filled = np.where(np.isnan(X), np.nanmean(X, axis=0), X)
        labels = np.argmin(((filled[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
        resp = np.eye(self.n_components)[labels] + 10 * np.finfo(float).eps
        nk = resp.sum(0)
        weights = (
            np.asarray(self.weights_init, dtype=np.float64)
            if self.weights_init is not None
            else nk / nk.sum()
        )
        if self.precisions_init is not None:
            return {
                "weights": weights,
                "means": means,
                "covariances": np.asarray(self.precisions_init, dtype=np.float64),
            }, True
        centred = filled[:, None, :] - means[None]  # n × K × D
        full = np.einsum("nk,nki,nkj->kij", resp, centred, centred) / nk[:, None, None]
        full += self.reg_covar * np.eye(X.shape[1])
        covs = {
            "full": full,
            "tied": np.einsum("k,kij->ij", nk, full) / nk.sum(),
            "diag": np.einsum("kii->ki", full),
            "spherical": np.einsum("kii->ki", full).mean(1),
        }[self.covariance_type]
        return {"weights": weights, "means": means, "covariances": covs}, False

    def _set_fitted(self, out):
        self.weights_ = out["weights"]
        self.means_ = out["means"]
        self.covariances_ = out["covariances"]
        # From the Rust side when it sent them (no BLAS call from Python after a fit: see
        # docs/python.md, "Threads"); computed here for parameters set by hand.
        prec_chol = out.get("precisions_cholesky")
        if prec_chol is None:
            prec_chol = _precision_cholesky(self.covariances_, self.covariance_type)
        self.precisions_cholesky_ = prec_chol
        self.precisions_ = _precisions(self.precisions_cholesky_, self.covariance_type)

    # -- fitting ------------------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Estimates the parameters by EM (``n_init`` restarts, the best one kept).

        ``sample_weight`` (optional, one non-negative weight per row) fits the weighted
        log-likelihood Σ w_i log p(x_i).
        """
        self._check_parameters()
        X = self._validate(X, reset=True)
        if X.shape[0] < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {X.shape[0]}"
            )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        start, start_precisions = self._start(X)
        if start is not None:
            start = {
                **start,
                "covariance_type": self.covariance_type,
                "reg_covar": float(self.reg_covar),
                "missing_values": self.missing_values,
                "prior": None,
            }
        prior = self.prior
        default_prior = isinstance(prior, str) and prior == "default"
        prior = None if prior is None or default_prior else _prior_dict(prior, X.shape[1])
        out = _core.gmm_fit(
            X,
            sample_weight,
            int(self.n_components),
            self.covariance_type,
            float(self.reg_covar),
            self.init_params,
            start,
            start_precisions,
            prior,
            default_prior,
            self.missing_values,
            self.stopping,
            float(self.tol),
            int(self.max_iter),
            1 if start is not None else int(self.n_init),
            _seed(self.random_state),
            self.n_threads,
            self.acceleration == "squarem",
        )
        self._set_fitted(out)
        self._online = _fresh_online_state()
        self.prior_ = out["prior"]
        self.converged_ = bool(out["converged"])
        self.n_iter_ = int(out["n_iter"])
        self.lower_bound_ = float(out["lower_bound"])
        self.lower_bounds_ = list(np.asarray(out["trace"][:-1]) / X.shape[0])
        if self.verbose:
            print(
                f"Initialization {out['best_restart']} converged: {self.converged_} "
                f"after {self.n_iter_} iterations, lower bound {self.lower_bound_:.5f}"
            )
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """One update of online EM (Cappé & Moulines) with the batch ``X``; returns ``self``.

        The first call (on an estimator that is not fitted) fits ``X`` by ``fit`` for a start.
        Every call then folds the E-step of ``X`` at the current parameters into a running
        average of the statistics, s ← (1 − ρ) s + ρ ŝ/n with ρ = (t + 2)^(−learning_decay)
        for the t-th call, and sets the parameters to the M-step of the average. ``fit``
        starts the average afresh. The state pickles with the estimator.
        """
        self._check_parameters()
        if not 0.5 < float(self.learning_decay) <= 1.0:
            raise ValueError(
                f"learning_decay must be in (0.5, 1], got {self.learning_decay}"
            )
        if not hasattr(self, "weights_"):
            self.fit(X, sample_weight=sample_weight)
        X = self._validate(X, reset=False)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        state = getattr(self, "_online", None) or _fresh_online_state()
        running = state["running"]._inner if state["running"] is not None else None
        out, running, weight, updates, n_seen, _ = _core.gmm_online_update(
            self._model(),
            X,
            sample_weight,
            running,
            state["weight"],
            state["updates"],
            state["n_seen"],
            float(self.learning_decay),
        )
        self._set_fitted(out)
        self._online = {
            "running": SufficientStats(running),
            "weight": weight,
            "updates": updates,
            "n_seen": n_seen,
        }
        self.n_batches_seen_ = updates
        self.n_samples_seen_ = n_seen
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """``fit(X)`` then the component of each row (the same as ``predict`` on ``X``)."""
        return self.fit(X, sample_weight=sample_weight).predict(X)

    # -- evaluation ---------------------------------------------------------------------------

    def score_samples(self, X):
        """log p(x_i) of every row."""
        check_is_fitted(self)
        return _core.gmm_score_samples(self._model(), self._validate(X, reset=False))

    def score(self, X, y=None):
        """The mean log-likelihood of the rows."""
        return float(self.score_samples(X).mean())

    def predict_proba(self, X):
        """p(k | x_i): one row per observation, one column per component."""
        check_is_fitted(self)
        return _core.gmm_predict_proba(self._model(), self._validate(X, reset=False))

    def predict(self, X):
        """The most probable component of each row."""
        return self.predict_proba(X).argmax(axis=1)

    def sample(self, n_samples=1):
        """``(X, y)``: ``n_samples`` draws and their components, seeded by ``random_state``
        (drawn in random component order, where scikit-learn groups them by component)."""
        check_is_fitted(self)
        if n_samples < 1:
            raise ValueError(f"Invalid value for 'n_samples': {n_samples}. It must be >= 1.")
        x, labels = _core.gmm_sample(self._model(), int(n_samples), _seed(self.random_state))
        return x, np.asarray(labels, dtype=np.int64)

    def bic(self, X):
        """Bayesian information criterion −2 log L + p log n (lower is better)."""
        check_is_fitted(self)
        return _core.gmm_criteria(self._model(), self._validate(X, reset=False))[0]

    def aic(self, X):
        """Akaike information criterion −2 log L + 2p (lower is better)."""
        check_is_fitted(self)
        return _core.gmm_criteria(self._model(), self._validate(X, reset=False))[1]

    def impute(self, X):
        """``X`` with every NaN replaced by its conditional expectation given the row's observed
        values (the imputation that goes with ``missing_values="model"``)."""
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan"
        )
        return _core.gmm_impute(self._model(), X)

    # -- E- and M-steps for out-of-core and distributed fits ----------------------------------

    def e_step_stats(self, X, sample_weight=None):
        """The E-step statistics of the rows of ``X`` under the current parameters: a picklable
        ``em.SufficientStats`` that merges (``a.merge(b)`` or ``a + b``) with the statistics of
        other rows into those of their union, for ``m_step``."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        return SufficientStats(_core.gmm_e_step(self._model(), X, sample_weight))

    def m_step(self, stats):
        """Sets the parameters to the M-step of ``stats`` (merged ``e_step_stats``), with this
        estimator's ``reg_covar`` and prior; returns ``self``."""
        check_is_fitted(self)
        if not isinstance(stats, SufficientStats):
            raise TypeError(f"m_step takes em.SufficientStats, got {type(stats).__name__}")
        self._set_fitted(_core.gmm_m_step(self._model(), stats._inner))
        return self

    def _log_prior(self):
        """log p(θ) under the fitted prior (0 without one)."""
        return _core.gmm_log_prior(self._model())
