"""Gaussian mixtures on Dask arrays: every EM iteration is one map-reduce over the row blocks.

Each block's E-step statistics are computed where the block lives (``e_step_stats``), merged
pairwise in data order up a tree (``SufficientStats.merge``), and the one M-step runs on the
client (``m_step``). Only the parameters travel to the workers and only the statistics (K×D×D
numbers per block) travel back; the data are never gathered. The iteration is scikit-learn's
(the same as ``em.GaussianMixture`` with ``stopping="sklearn"``), so from the same start the
result equals the in-memory fit to rounding.

Needs ``dask[distributed]`` (or plain ``dask`` with its local schedulers).
"""

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from ._gmm import GaussianMixture

try:
    import dask
    import dask.array as da
except ImportError as e:  # pragma: no cover - the import error says what to install
    raise ImportError("em.dask needs dask: pip install 'dask[distributed]'") from e


def _e_step(model, block, weights):
    """The statistics of one block (run on a worker)."""
    return model.e_step_stats(block, sample_weight=weights)


def _merge(a, b):
    return a.merge(b)


def _tree_merge(parts):
    """Merges delayed statistics pairwise, neighbours first, so that the order of the rows is
    kept and the depth is log2 of the number of blocks."""
    while len(parts) > 1:
        merged = [dask.delayed(_merge, pure=False)(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            merged.append(parts[-1])
        parts = merged
    return parts[0]


def fit(X, estimator=None, *, sample_weight=None, init_size=None, client=None, **params):
    """Fits a Gaussian mixture to the Dask array ``X`` (n × D) by map-reduce EM.

    Parameters
    ----------
    X : dask.array.Array
        The data, chunked along the rows (column chunks are merged into one per row block).
    estimator : em.GaussianMixture, optional
        The options (``n_components``, ``covariance_type``, ``tol``, ``max_iter``,
        ``reg_covar``, a dict ``prior``, ``weights_init``/``means_init``/``precisions_init``,
        ``random_state``, ``warm_start`` ...); or give them as keyword arguments.
        ``stopping`` other than "sklearn", ``acceleration``, ``n_init > 1`` and
        ``prior="default"`` are not supported here.
    sample_weight : dask.array.Array, optional
        One weight per row, chunked like ``X``'s rows.
    init_size : int, optional
        Without a given start (``means_init`` ...) or a warm start, the start is an in-memory
        fit of the estimator on the first ``init_size`` rows (default: the first row block);
        EM then continues on all rows.
    client : distributed.Client, optional
        Where to compute (default: dask's current scheduler). ``X`` is persisted on it first,
        so that the blocks are not recomputed every iteration.

    Returns
    -------
    em.GaussianMixture
        Fitted: ``weights_``, ``means_``, ``covariances_``, ``converged_``, ``n_iter_``,
        ``lower_bound_`` ... as an in-memory fit.
    """
    model = clone(estimator) if estimator is not None else GaussianMixture()
    if estimator is not None and estimator.warm_start and hasattr(estimator, "weights_"):
        model = estimator
    if params:
        model.set_params(**params)
    model._check_parameters()
    if model.stopping != "sklearn" or model.acceleration is not None:
        raise ValueError("em.dask.fit runs scikit-learn's iteration: stopping='sklearn', no acceleration")
    if isinstance(model.prior, str):
        raise ValueError("em.dask.fit needs the prior as a dict (prior='default' reads all the data)")
    if not isinstance(X, da.Array) or X.ndim != 2:
        raise ValueError("X must be a 2-D dask array")
    X = X.astype(np.float64).rechunk({1: -1})
    if sample_weight is not None:
        sample_weight = da.asarray(sample_weight).astype(np.float64).rechunk((X.chunks[0],))
    if client is not None:
        X = client.persist(X)
        if sample_weight is not None:
            sample_weight = client.persist(sample_weight)
    n = X.shape[0]

    # The start: the given parameters, the estimator's own (warm start), or a fit on a sample.
    start = clone(model)
    head = np.asarray((X[: init_size or X.chunks[0][0]]).compute())
    if not (model.warm_start and hasattr(model, "weights_")):
        if model.means_init is None:
            start.set_params(max_iter=model.max_iter)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                start.fit(head)
            start.set_params(n_init=1)
        else:
            # The given start itself (its parts not given come from the first rows).
            start._validate(head, reset=True)
            s, precisions = start._start(head)
            _set_start(start, s, precisions)
    current = model if model.warm_start and hasattr(model, "weights_") else start
    current.n_features_in_ = X.shape[1]

    blocks = X.to_delayed().ravel()
    weights = sample_weight.to_delayed().ravel() if sample_weight is not None else [None] * len(blocks)
    lower_bound = -np.inf
    converged = False
    lower_bounds = []
    n_iter = 0
    for n_iter in range(1, model.max_iter + 1):
        parts = [dask.delayed(_e_step, pure=False)(current, b, w) for b, w in zip(blocks, weights)]
        total = _tree_merge(parts)
        stats = client.compute(total).result() if client is not None else total.compute()
        previous = lower_bound
        lower_bound = (stats.log_likelihood + current._log_prior()) / n
        lower_bounds.append(lower_bound)
        current.m_step(stats)
        if abs(lower_bound - previous) < model.tol:
            converged = True
            break
    if not converged:
        warnings.warn(
            "em.dask.fit did not converge: increase max_iter or tol.", ConvergenceWarning
        )
    fitted = model
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        setattr(fitted, name, getattr(current, name))
    fitted.prior_ = current.prior_
    fitted.n_features_in_ = X.shape[1]
    fitted.converged_ = converged
    fitted.n_iter_ = n_iter
    fitted.lower_bound_ = float(lower_bound)
    fitted.lower_bounds_ = lower_bounds
    return fitted


def _set_start(est, start, precisions):
    """Sets ``est``'s parameters to a given start (weights, means, covariances or precisions)."""
    from scipy import linalg

    cov = np.asarray(start["covariances"], dtype=np.float64)
    if precisions:
        kind = est.covariance_type
        if kind == "full":
            cov = np.array([linalg.inv(p) for p in cov])
        elif kind == "tied":
            cov = linalg.inv(cov)
        else:
            cov = 1.0 / cov
    est._set_fitted(
        {"weights": np.asarray(start["weights"], dtype=np.float64), "means": start["means"], "covariances": cov}
    )
    prior = est.prior
    est.prior_ = None if prior is None else _prior(prior, start["means"].shape[1])


def _prior(prior, d):
    from ._gmm import _prior_dict

    return _prior_dict(prior, d)
