"""``em.GaussianHMM``: hmmlearn's ``GaussianHMM`` over the Rust ``hmm`` crate."""

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_array, check_is_fitted

from . import _core
from ._gmm import _seed

_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


class ConvergenceMonitor:
    """What hmmlearn's ``monitor_`` tells of a finished fit: ``iter``, ``converged`` and the
    last lower bound in ``history``."""

    def __init__(self, tol, n_iter, iterations, converged, lower_bound):
        self.tol = tol
        self.n_iter = n_iter
        self.iter = iterations
        self.converged = converged
        self.history = [lower_bound]

    def __repr__(self):
        return f"ConvergenceMonitor(iter={self.iter}, converged={self.converged})"


class GaussianHMM(BaseEstimator):
    """A hidden Markov model with Gaussian emissions, fitted by Baum–Welch in Rust.

    The parameters and attributes are hmmlearn's (``n_components``, ``covariance_type``,
    ``n_iter``, ``tol``, ``params``, ``init_params``, ``random_state``; ``startprob_``,
    ``transmat_``, ``means_``, ``covars_``), and so are the iteration semantics: from the same
    start (``init_params=""`` and the four attributes set) the fit agrees with hmmlearn's to
    rounding when hmmlearn's priors are off (``covars_prior=0``; hmmlearn's default 1e-2 is a
    prior this class does not have). ``reg_covar`` (default 0) is a ridge added to the
    variances after each M-step.

    Sequences are given hmmlearn's way: the rows of ``X`` one sequence after another, and their
    ``lengths``.
    """

    def __init__(
        self,
        n_components=1,
        covariance_type="diag",
        *,
        algorithm="viterbi",
        random_state=None,
        n_iter=10,
        tol=1e-2,
        verbose=False,
        params="stmc",
        init_params="stmc",
        reg_covar=0.0,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.reg_covar = reg_covar

    # hmmlearn's `covars_` is the full matrices whatever the type; `_covars_` the stored form.
    @property
    def covars_(self):
        c = self._covars_
        d = self.means_.shape[1]
        k = self.n_components
        if self.covariance_type == "full":
            return c
        if self.covariance_type == "diag":
            return np.array([np.diag(v) for v in c])
        if self.covariance_type == "tied":
            return np.tile(c, (k, 1, 1))
        return np.array([np.eye(d) * v for v in c])

    @covars_.setter
    def covars_(self, value):
        value = np.asarray(value, dtype=np.float64).copy()
        if self.covariance_type == "spherical" and value.ndim == 2:
            # hmmlearn keeps spherical variances repeated over the features after a fit.
            if not np.allclose(value, value[:, :1]):
                raise ValueError("spherical covars_ must be one variance per state")
            value = value[:, 0].copy()
        self._covars_ = value

    def _model(self):
        return {
            "startprob": np.asarray(self.startprob_, dtype=np.float64),
            "transmat": np.asarray(self.transmat_, dtype=np.float64),
            "means": np.asarray(self.means_, dtype=np.float64),
            "covars": self._covars_,
            "covariance_type": self.covariance_type,
            "reg_covar": float(self.reg_covar),
        }

    @staticmethod
    def _lengths(X, lengths):
        if lengths is None:
            return None
        lengths = np.asarray(lengths)
        if lengths.ndim != 1 or (lengths < 0).any():
            raise ValueError("lengths must be a 1-D array of non-negative integers")
        return [int(v) for v in lengths]

    def _check_X(self, X, fitted=True):
        X = check_array(X, dtype=np.float64)
        if fitted and X.shape[1] != self.means_.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features, but the model has {self.means_.shape[1]}"
            )
        return X

    def fit(self, X, lengths=None):
        """Estimates the parameters by Baum–Welch (at most ``n_iter`` iterations)."""
        if self.covariance_type not in _COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {_COVARIANCE_TYPES}, got {self.covariance_type!r}"
            )
        if set(self.params) != set("stmc"):
            raise ValueError(
                "params other than 'stmc' (keeping some parameters fixed) are not supported"
            )
        if set(self.init_params) - set("stmc"):
            raise ValueError(f"init_params must be letters of 'stmc', got {self.init_params!r}")
        X = self._check_X(X, fitted=False)
        given = {
            "startprob": getattr(self, "startprob_", None),
            "transmat": getattr(self, "transmat_", None),
            "means": getattr(self, "means_", None),
            "covars": getattr(self, "_covars_", None),
        }
        given = {
            k: (None if v is None else np.asarray(v, dtype=np.float64)) for k, v in given.items()
        }
        out = _core.hmm_fit(
            X,
            self._lengths(X, lengths),
            int(self.n_components),
            self.covariance_type,
            self.init_params,
            given,
            float(self.reg_covar),
            # A tolerance <= 0 (hmmlearn's tests use -inf) runs all n_iter iterations.
            max(float(self.tol), 0.0),
            int(self.n_iter),
            _seed(self.random_state),
        )
        self.startprob_ = out["startprob"]
        self.transmat_ = out["transmat"]
        self.means_ = out["means"]
        self._covars_ = out["covars"]
        self.n_features = X.shape[1]
        self.converged_ = bool(out["converged"])
        self.n_iter_ = int(out["n_iter"])
        # hmmlearn's monitor counts reaching n_iter as converged; `converged_` does not.
        self.monitor_ = ConvergenceMonitor(
            self.tol,
            self.n_iter,
            self.n_iter_,
            self.converged_ or self.n_iter_ == self.n_iter,
            out["lower_bound"],
        )
        if self.verbose:
            print(self.monitor_)
        return self

    def score(self, X, lengths=None):
        """log p(X): the sum over the sequences (the forward algorithm)."""
        check_is_fitted(self, "means_")
        return _core.hmm_score(self._model(), self._check_X(X), self._lengths(X, lengths))

    def predict_proba(self, X, lengths=None):
        """Posterior state probabilities of every row (forward–backward)."""
        check_is_fitted(self, "means_")
        return _core.hmm_predict_proba(self._model(), self._check_X(X), self._lengths(X, lengths))

    def score_samples(self, X, lengths=None):
        """``(log p(X), posteriors)``, as hmmlearn's."""
        return self.score(X, lengths), self.predict_proba(X, lengths)

    def decode(self, X, lengths=None, algorithm=None):
        """``(log-probability, states)`` of the most likely state path (Viterbi; the
        log-probability is summed over the sequences)."""
        check_is_fitted(self, "means_")
        algorithm = algorithm or self.algorithm
        X = self._check_X(X)
        lengths = self._lengths(X, lengths)
        if algorithm == "viterbi":
            logprob, states = _core.hmm_viterbi(self._model(), X, lengths)
            return logprob, np.asarray(states, dtype=np.int64)
        if algorithm == "map":
            posteriors = self.predict_proba(X, lengths)
            return self.score(X, lengths), posteriors.argmax(axis=1)
        raise ValueError(f"algorithm must be 'viterbi' or 'map', got {algorithm!r}")

    def predict(self, X, lengths=None):
        """The most likely states (by ``algorithm``)."""
        return self.decode(X, lengths)[1]

    def sample(self, n_samples=1, random_state=None):
        """``(X, states)`` of one sequence of ``n_samples`` steps."""
        check_is_fitted(self, "means_")
        seed = _seed(self.random_state if random_state is None else random_state)
        x, states = _core.hmm_sample(self._model(), int(n_samples), seed)
        return x, np.asarray(states, dtype=np.int64)


class CategoricalHMM(BaseEstimator):
    """A hidden Markov model with categorical emissions (symbols 0 … n_features − 1), fitted
    by Baum–Welch in Rust, with hmmlearn's ``CategoricalHMM`` names and iteration semantics.

    ``X`` is a column of integer symbols (n × 1), the sequences one after another, with their
    ``lengths``. hmmlearn's Dirichlet priors are not supported (its defaults, 1.0, are flat, so
    the default fits agree). ``init_params`` letters: ``s``, ``t``, ``e``; the emission start
    is random (the crate's draw, not hmmlearn's).
    """

    def __init__(
        self,
        n_components=1,
        *,
        n_features=None,
        algorithm="viterbi",
        random_state=None,
        n_iter=10,
        tol=1e-2,
        verbose=False,
        params="ste",
        init_params="ste",
    ):
        self.n_components = n_components
        self.n_features = n_features
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params

    @staticmethod
    def _symbols(X):
        X = check_array(X, dtype=None, ensure_2d=False)
        if X.ndim == 2:
            if X.shape[1] != 1:
                raise ValueError(f"X must be one column of symbols, got {X.shape[1]} columns")
            X = X[:, 0]
        if X.ndim != 1:
            raise ValueError("X must be one column of symbols")
        as_int = X.astype(np.int64)
        bad = np.flatnonzero((as_int != X) | (as_int < 0))
        if bad.size:
            raise ValueError(
                f"symbol {X[bad[0]]} at row {bad[0]} is not a non-negative integer"
            )
        return [int(v) for v in as_int]

    def _model(self):
        return {
            "startprob": np.asarray(self.startprob_, dtype=np.float64),
            "transmat": np.asarray(self.transmat_, dtype=np.float64),
            "emissionprob": np.asarray(self.emissionprob_, dtype=np.float64),
        }

    def fit(self, X, lengths=None):
        """Estimates the parameters by Baum–Welch (at most ``n_iter`` iterations)."""
        if set(self.params) != set("ste"):
            raise ValueError(
                "params other than 'ste' (keeping some parameters fixed) are not supported"
            )
        if set(self.init_params) - set("ste"):
            raise ValueError(f"init_params must be letters of 'ste', got {self.init_params!r}")
        symbols = self._symbols(X)
        n_features = self.n_features
        if n_features is None:
            given = getattr(self, "emissionprob_", None)
            n_features = (
                np.asarray(given).shape[1]
                if given is not None and "e" not in self.init_params
                else max(symbols, default=0) + 1
            )
        given = {
            k: (None if getattr(self, k + "_", None) is None else np.asarray(getattr(self, k + "_"), dtype=np.float64))
            for k in ("startprob", "transmat", "emissionprob")
        }
        out = _core.chmm_fit(
            symbols,
            GaussianHMM._lengths(X, lengths),
            int(self.n_components),
            int(n_features),
            self.init_params,
            given,
            max(float(self.tol), 0.0),
            int(self.n_iter),
            _seed(self.random_state),
        )
        self.startprob_ = out["startprob"]
        self.transmat_ = out["transmat"]
        self.emissionprob_ = out["emissionprob"]
        self.n_features_ = int(n_features)
        self.converged_ = bool(out["converged"])
        self.n_iter_ = int(out["n_iter"])
        self.monitor_ = ConvergenceMonitor(
            self.tol,
            self.n_iter,
            self.n_iter_,
            self.converged_ or self.n_iter_ == self.n_iter,
            out["lower_bound"],
        )
        if self.verbose:
            print(self.monitor_)
        return self

    def score(self, X, lengths=None):
        """log p(X): the sum over the sequences."""
        check_is_fitted(self, "emissionprob_")
        return _core.chmm_score(self._model(), self._symbols(X), GaussianHMM._lengths(X, lengths))

    def predict_proba(self, X, lengths=None):
        """Posterior state probabilities of every step."""
        check_is_fitted(self, "emissionprob_")
        return _core.chmm_predict_proba(
            self._model(), self._symbols(X), GaussianHMM._lengths(X, lengths)
        )

    def score_samples(self, X, lengths=None):
        """``(log p(X), posteriors)``."""
        return self.score(X, lengths), self.predict_proba(X, lengths)

    def decode(self, X, lengths=None, algorithm=None):
        """``(log-probability, states)`` of the most likely state path."""
        check_is_fitted(self, "emissionprob_")
        algorithm = algorithm or self.algorithm
        if algorithm == "viterbi":
            logprob, states = _core.chmm_viterbi(
                self._model(), self._symbols(X), GaussianHMM._lengths(X, lengths)
            )
            return logprob, np.asarray(states, dtype=np.int64)
        if algorithm == "map":
            return self.score(X, lengths), self.predict_proba(X, lengths).argmax(axis=1)
        raise ValueError(f"algorithm must be 'viterbi' or 'map', got {algorithm!r}")

    def predict(self, X, lengths=None):
        """The most likely states (by ``algorithm``)."""
        return self.decode(X, lengths)[1]

    def sample(self, n_samples=1, random_state=None):
        """``(X, states)``: one sequence of ``n_samples`` symbols (a column) and its states."""
        check_is_fitted(self, "emissionprob_")
        seed = _seed(self.random_state if random_state is None else random_state)
        x, states = _core.chmm_sample(self._model(), int(n_samples), seed)
        return np.asarray(x, dtype=np.int64)[:, None], np.asarray(states, dtype=np.int64)
