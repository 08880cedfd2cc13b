"""em: Expectation–Maximization in Rust, with scikit-learn- and hmmlearn-style estimators.

- ``em.GaussianMixture``: scikit-learn's ``GaussianMixture`` (same parameters and attributes)
  plus sample weights, a conjugate prior, SQUAREM, stopping rules, missing values, threads,
  and E-step statistics that merge across processes (``e_step_stats`` / ``m_step``).
- ``em.Mixture``: mixtures of Poisson, exponential, 1-D Gaussian or Bernoulli components.
- ``em.ZeroInflatedPoisson``: the zero-inflated Poisson by EM.
- ``em.GaussianHMM``, ``em.CategoricalHMM``: hmmlearn's HMMs (same parameters and attributes).
- ``em.dask.fit``: a Gaussian mixture fitted by map-reduce over a Dask array's row blocks
  (import ``em.dask``; needs ``dask[distributed]``).

Bad input raises ``ValueError`` (naming the row, column or parameter); numerical failures of a
fit raise ``em.FitError``, a ``RuntimeError``.
"""

from ._core import FitError
from ._gmm import GaussianMixture
from ._hmm import CategoricalHMM, GaussianHMM
from ._mixture import Mixture
from ._stats import SufficientStats
from ._zip import ZeroInflatedPoisson

__all__ = [
    "CategoricalHMM",
    "FitError",
    "GaussianHMM",
    "GaussianMixture",
    "Mixture",
    "SufficientStats",
    "ZeroInflatedPoisson",
]
__version__ = "0.1.0"
