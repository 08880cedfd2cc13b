"""Picklable, mergeable E-step statistics."""

from . import _core


class SufficientStats:
    """Expected sufficient statistics of some rows, with their log-likelihood.

    Statistics of disjoint sets of rows merge into those of their union (``a.merge(b)``,
    ``a + b`` or ``sum([...])``); merging in data order reproduces an in-memory fit's
    statistics to rounding (the merge is Chan's pairwise update of centred moments, not a raw
    sum of squares). They pickle as a JSON text whose floats round-trip exactly, so they cross
    process and machine boundaries (Dask, Spark, multiprocessing) unchanged.
    """

    __slots__ = ("_inner",)

    def __init__(self, inner):
        if not isinstance(inner, _core.GaussianStats):
            raise TypeError("SufficientStats are made by e_step_stats, not by hand")
        self._inner = inner

    def merge(self, other):
        """The statistics of these rows followed by ``other``'s."""
        if not isinstance(other, SufficientStats):
            raise TypeError(f"cannot merge SufficientStats with {type(other).__name__}")
        return SufficientStats(self._inner.merge(other._inner))

    def __add__(self, other):
        return self.merge(other)

    def __radd__(self, other):
        # `sum(stats)` starts from 0.
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented

    @property
    def log_likelihood(self):
        """Σ w_i log p(x_i) over the rows, at the parameters of the E-step."""
        return self._inner.log_likelihood

    @property
    def n_rows(self):
        """Number of rows covered."""
        return self._inner.n_rows

    @property
    def resp_sum(self):
        """Summed (weighted) responsibilities of each component."""
        return self._inner.resp_sum

    def __getstate__(self):
        return {"json": self._inner.to_json()}

    def __setstate__(self, state):
        self._inner = _core.GaussianStats.from_json(state["json"])

    def __repr__(self):
        return f"SufficientStats(n_rows={self.n_rows}, log_likelihood={self.log_likelihood:.6g})"
