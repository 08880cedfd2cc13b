"""em.GaussianMixture.fit against scikit-learn's, side by side, from Python.

Both fit the same data from the same start (weights_init, means_init, precisions_init) for the
same fixed number of iterations (tol=0), so they do the same arithmetic; the script checks that
the results agree before it prints any time. scikit-learn runs under threadpool_limits with the
same thread count as em's n_threads, so neither gets more cores than the other.

    python python/bench/compare_sklearn.py                  # defaults below
    python python/bench/compare_sklearn.py --n 200000 --d 10 --k 8 --iters 20 --threads 1

Not run by the tests.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from threadpoolctl import threadpool_limits

import em


def best_of(repeats, fit):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model = fit()
        times.append(time.perf_counter() - t0)
    return min(times), model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="rows")
    parser.add_argument("--d", type=int, default=8, help="features")
    parser.add_argument("--k", type=int, default=5, help="components")
    parser.add_argument("--iters", type=int, default=20, help="EM iterations (fixed)")
    parser.add_argument("--threads", type=int, default=1, help="threads for both")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many fits")
    parser.add_argument("--types", default="full,diag,spherical,tied")
    args = parser.parse_args()

    rs = np.random.RandomState(0)
    centres = rs.randn(args.k, args.d) * 3
    X = np.vstack(
        [rs.randn(args.n // args.k, args.d) @ rs.randn(args.d, args.d) * 0.5 + c for c in centres]
    )
    print(
        f"n={X.shape[0]} d={args.d} k={args.k} iterations={args.iters} threads={args.threads} "
        f"(best of {args.repeats})"
    )
    print(f"{'covariance':<10} {'scikit-learn':>13} {'em':>10} {'ratio':>7} {'max rel diff':>13}")
    for kind in args.types.split(","):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = SkGaussianMixture(args.k, covariance_type=kind, max_iter=1, random_state=0)
            start.fit(X[:5000])
        common = dict(
            n_components=args.k,
            covariance_type=kind,
            tol=0.0,
            max_iter=args.iters,
            weights_init=start.weights_,
            means_init=start.means_,
            precisions_init=start.precisions_,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            with threadpool_limits(limits=args.threads):
                t_sk, sk = best_of(args.repeats, lambda: SkGaussianMixture(**common).fit(X))
            t_em, ours = best_of(
                args.repeats, lambda: em.GaussianMixture(n_threads=args.threads, **common).fit(X)
            )
        diff = max(
            np.max(np.abs(ours.means_ - sk.means_)) / np.max(np.abs(sk.means_)),
            np.max(np.abs(ours.covariances_ - sk.covariances_)) / np.max(np.abs(sk.covariances_)),
        )
        if diff > 1e-6:
            raise SystemExit(f"{kind}: the fits disagree (relative difference {diff:.1e})")
        print(f"{kind:<10} {t_sk:>12.3f}s {t_em:>9.3f}s {t_sk / t_em:>6.2f}x {diff:>13.1e}")


if __name__ == "__main__":
    main()
