#!/usr/bin/env python3
"""Side-by-side: scikit-learn's GaussianMixture vs em's (examples/bench_gmm.rs), per EM iteration.

For each case (N, D, K) this script, in one run on one machine:

1. draws N rows of a known K-component mixture in D dimensions with NumPy (seeded), and the
   starting parameters (the true weights and covariances, every mean shifted by 0.5);
2. writes them to a temporary directory (meta.txt, x.f64, init.f64: see bench/README.md);
3. times scikit-learn's ``GaussianMixture.fit`` from those parameters (``weights_init``,
   ``means_init``, ``precisions_init`` = the inverse covariances, ``tol=0``, ``reg_covar=1e-6``)
   with 1 and with 2 BLAS threads (threadpoolctl);
4. runs ``target/release/examples/bench_gmm`` on the same files with ``--threads 1`` and 2;
5. checks both reach the same final log-likelihood (relative 1e-6) and the same means;
6. prints one table: seconds per iteration, ratios, em's GFLOP/s against a measured dgemm peak.

Per-iteration time, for both sides: ``(t(n) - t(1)) / (n - 1)`` where ``t(m)`` is the fastest
of ``--repeat`` runs of a fit with ``max_iter = m`` from the same start. Both sides do one more
E-step than M-steps per fit (scikit-learn a final E-step for labels, em an E-step at the
starting parameters) and fixed costs (validation, scikit-learn's initialisation, which is
``init_params="random_from_data"`` here and then overridden by the given parameters, thread
pool start-up); the difference cancels them, leaving exactly (n - 1) x (one E-step + one
M-step). em times only its EM loop (not reading files); scikit-learn's ``fit`` is timed whole.

OpenBLAS: on some machines here OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set (for older
OpenBLAS builds); they slow a current NumPy. Run this with both unset in that command only:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/compare_sklearn.py

The script reports their values and the kernel threadpoolctl says OpenBLAS uses.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

try:
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError as e:  # pragma: no cover - a setup message, not a code path
    sys.exit(f"{e}: pip install scikit-learn threadpoolctl")

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CASES = [
    (10_000, 2, 3),
    (100_000, 2, 5),
    (100_000, 10, 8),
    (1_000_000, 2, 3),
    (20_000, 200, 5),
    (200_000, 50, 10),
]
REG_COVAR = 1e-6


def parse_case(text: str) -> tuple[int, int, int]:
    try:
        n, d, k = (int(v.replace("_", "")) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"case {text!r}: expected N,D,K") from None
    return n, d, k


def flops_full(n: int, d: int, k: int) -> float:
    """Approximate flops of one full-covariance iteration: 4*N*K*D^2.

    Two N x D x D products per component (Mahalanobis terms in the E-step, the weighted
    scatter in the M-step), 2 flops per multiply-add: what scikit-learn's GEMMs do. A
    triangular solve and a symmetric scatter need about half of it, so this counts generously,
    and it ignores the O(N*K*D) and exp/log work that dominates at small D.
    """
    return 4.0 * n * k * d * d


def make_case(n, d, k, covariance, seed):
    """Data and starting parameters; the same recipe as crates/gmm/benches/em_iteration.rs
    (not the same numbers: NumPy's generator, not rand's)."""
    rng = np.random.default_rng([seed, n, d, k])
    weights = np.arange(1.0, k + 1.0)
    weights /= weights.sum()
    means = 3.0 * rng.standard_normal((k, d))
    if covariance == "full":
        r = min(d, 3)
        covs = np.empty((k, d, d))
        for j in range(k):
            s = 0.5 + rng.random()
            b = rng.standard_normal((d, r))
            m = s * np.eye(d) + b @ b.T / r
            covs[j] = 0.5 * (m + m.T)
        chols = np.linalg.cholesky(covs)
    else:
        covs = 0.5 + rng.random((k, d))
    labels = rng.choice(k, size=n, p=weights)
    x = rng.standard_normal((n, d))
    for j in range(k):
        rows = labels == j
        if covariance == "full":
            x[rows] = x[rows] @ chols[j].T + means[j]
        else:
            x[rows] = x[rows] * np.sqrt(covs[j]) + means[j]
    del labels
    start_means = means + 0.5
    if covariance == "full":
        precisions = np.linalg.inv(covs)
        precisions = 0.5 * (precisions + np.transpose(precisions, (0, 2, 1)))
    else:
        precisions = 1.0 / covs
    return x, weights, start_means, covs, precisions


def write_case(directory: Path, x, weights, means, covs, covariance):
    n, d = x.shape
    k = len(weights)
    (directory / "meta.txt").write_text(
        f"n {n}\nd {d}\nk {k}\ncovariance {covariance}\nreg_covar {REG_COVAR!r}\n"
    )
    # Column-major (x.T in C order), little-endian: nalgebra's layout.
    x.T.astype("<f8").tofile(directory / "x.f64")
    np.concatenate([weights, means.ravel(), covs.ravel()]).astype("<f8").tofile(
        directory / "init.f64"
    )


def sklearn_model(max_iter, k, covariance, weights, means, precisions):
    return GaussianMixture(
        n_components=k,
        covariance_type=covariance,
        tol=0.0,
        reg_covar=REG_COVAR,
        max_iter=max_iter,
        n_init=1,
        init_params="random_from_data",
        weights_init=weights,
        means_init=means,
        precisions_init=precisions,
        random_state=0,
    )


def time_sklearn(x, iters, repeat, threads, covariance, weights, means, precisions):
    k = len(weights)
    best = {1: float("inf"), iters: float("inf")}
    fitted = None
    with threadpool_limits(limits=threads, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(repeat):
            for m in (1, iters):
                gm = sklearn_model(m, k, covariance, weights, means, precisions)
                gc.collect()
                t0 = time.perf_counter()
                gm.fit(x)
                best[m] = min(best[m], time.perf_counter() - t0)
                if m == iters:
                    fitted = gm
        if fitted.n_iter_ != iters:
            raise RuntimeError(f"scikit-learn ran {fitted.n_iter_} iterations, not {iters}")
        log_likelihood = float(fitted.score(x)) * x.shape[0]
    return {
        "seconds_per_iteration": (best[iters] - best[1]) / (iters - 1),
        "seconds_total": best[iters],
        "seconds_one": best[1],
        "final_log_likelihood": log_likelihood,
        "final_weights": fitted.weights_.tolist(),
        "final_means": fitted.means_.ravel().tolist(),
    }


def run_em(binary, directory, iters, repeat, threads):
    out = subprocess.run(
        [str(binary), "--dir", str(directory), "--iters", str(iters),
         "--threads", str(threads), "--repeat", str(repeat)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)


def dgemm_peak(threads, size=2000, repeat=5):
    """GFLOP/s of numpy.dot on two size x size float64 matrices (best of `repeat`)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((size, size)), rng.standard_normal((size, size))
    with threadpool_limits(limits=threads, user_api="blas"):
        np.dot(a, b)
        best = min(_timed(np.dot, a, b) for _ in range(repeat))
    return 2.0 * size**3 / best / 1e9


def _timed(f, *args):
    t0 = time.perf_counter()
    f(*args)
    return time.perf_counter() - t0


def cpu_busy(seconds=1.0):
    """Fraction of all CPUs busy (not idle or iowait) over `seconds`, from /proc/stat."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]
    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1.0 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_idle(args):
    """Waits (up to --idle-wait seconds) until other processes leave the CPUs idle; returns
    the busy fraction last seen, which the results record."""
    if args.idle_wait <= 0 or not os.path.exists("/proc/stat"):
        return None
    deadline = time.monotonic() + args.idle_wait
    while True:
        busy = cpu_busy()
        if busy < args.idle_threshold or time.monotonic() > deadline:
            return busy
        time.sleep(2.0)


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def fmt_s(s):
    if s >= 1.0:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def compare(args, binary):
    results = []
    for n, d, k in args.case:
        iters = args.iters or (20 if n * k * d * d < 50_000_000 else 10)
        directory = Path(tempfile.mkdtemp(prefix="em-bench-"))
        try:
            x, weights, means, covs, precisions = make_case(n, d, k, args.covariance, args.seed)
            write_case(directory, x, weights, means, covs, args.covariance)
            row = {"n": n, "d": d, "k": k, "covariance": args.covariance, "iters": iters}
            busy = []
            for t in args.threads:
                busy.append(wait_idle(args))
                row[f"sklearn_{t}"] = time_sklearn(
                    x, iters, args.repeat, t, args.covariance, weights, means, precisions
                )
                busy.append(wait_idle(args))
                row[f"em_{t}"] = run_em(binary, directory, iters, args.repeat, t)
            row["cpu_busy_before"] = busy
            results.append(row)
            seen = ", ".join("-" if b is None else f"{100 * b:.0f}%" for b in busy)
            print(f"#   done ({n}, {d}, {k}) x {iters} iterations; CPU busy before each "
                  f"measurement (sklearn, em per thread count): {seen}; {load()}", flush=True)
        finally:
            del x
            shutil.rmtree(directory, ignore_errors=True)
    return results


def agreement(row, t):
    sk, em = row[f"sklearn_{t}"], row[f"em_{t}"]
    ll_sk, ll_em = sk["final_log_likelihood"], em["final_log_likelihood"]
    rel_ll = abs(ll_sk - ll_em) / abs(ll_sk)
    mu_sk, mu_em = np.array(sk["final_means"]), np.array(em["final_means"])
    rel_mu = float(np.max(np.abs(mu_sk - mu_em)) / np.max(np.abs(mu_sk)))
    return rel_ll, rel_mu


def print_table(results, peaks, threads):
    t1, t2 = threads[0], threads[-1]
    head = ["case (N, D, K)", "iters"]
    head += [f"sklearn {t}T" for t in threads] + [f"em {t}T" for t in threads]
    head += [f"ratio {t}T" for t in threads]
    if len(threads) > 1:
        head += [f"em {t2}T/{t1}T speed-up"]
    head += [f"em GFLOP/s {t}T (% of dgemm {t}T)" for t in threads]
    head += ["rel. diff log-lik / means", "agree"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    all_agree = True
    for row in results:
        n, d, k = row["n"], row["d"], row["k"]
        cells = [f"{n}, {d}, {k}", str(row["iters"])]
        cells += [fmt_s(row[f"sklearn_{t}"]["seconds_per_iteration"]) for t in threads]
        cells += [fmt_s(row[f"em_{t}"]["seconds_per_iteration"]) for t in threads]
        cells += [
            f"{row[f'sklearn_{t}']['seconds_per_iteration'] / row[f'em_{t}']['seconds_per_iteration']:.2f}x"
            for t in threads
        ]
        if len(threads) > 1:
            cells.append(
                f"{row[f'em_{t1}']['seconds_per_iteration'] / row[f'em_{t2}']['seconds_per_iteration']:.2f}x"
            )
        for t in threads:
            if row["covariance"] == "full":
                g = flops_full(n, d, k) / row[f"em_{t}"]["seconds_per_iteration"] / 1e9
                cells.append(f"{g:.2f} ({100 * g / peaks[t]:.1f}%)")
            else:
                cells.append("n/a (diag)")
        worst_ll, worst_mu = 0.0, 0.0
        for t in threads:
            rel_ll, rel_mu = agreement(row, t)
            worst_ll, worst_mu = max(worst_ll, rel_ll), max(worst_mu, rel_mu)
        ok = worst_ll <= 1e-6 and worst_mu <= 1e-6
        all_agree &= ok
        cells += [f"{worst_ll:.1e} / {worst_mu:.1e}", "yes" if ok else "NO"]
        print("| " + " | ".join(cells) + " |")
    return all_agree


def rss_check(binary, n, d, k, iters, threads, seed):
    """Peak RSS (/usr/bin/time -v) of bench_gmm fitting N x D in memory, vs the data's size."""
    directory = Path(tempfile.mkdtemp(prefix="em-rss-"))
    try:
        x, weights, means, covs, _ = make_case(n, d, k, "full", seed)
        write_case(directory, x, weights, means, covs, "full")
        del x
        gc.collect()
        cmd = ["/usr/bin/time", "-v", str(binary), "--dir", str(directory),
               "--iters", str(iters), "--threads", str(threads)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        kb = next(
            int(line.split(":")[1])
            for line in out.stderr.splitlines()
            if "Maximum resident set size" in line
        )
        report = json.loads(out.stdout)
        data_bytes = n * d * 8
        return {
            "n": n, "d": d, "k": k, "iters": iters, "threads": threads,
            "max_rss_bytes": kb * 1024, "data_bytes": data_bytes,
            "ratio": kb * 1024 / data_bytes,
            "seconds_per_iteration": report["seconds_per_iteration"],
            "vmhwm_bytes": report["peak_rss_bytes"],
        }
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--case", type=parse_case, action="append",
                   help="N,D,K (repeatable); default: the six sizes of issue 7")
    p.add_argument("--covariance", choices=["full", "diag"], default="full")
    p.add_argument("--iters", type=int, default=0,
                   help="EM iterations per fit (>= 2); default 20, or 10 when N*K*D^2 >= 5e7")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs of each fit; the fastest is kept (default 1)")
    p.add_argument("--threads", type=lambda s: [int(v) for v in s.split(",")], default=[1, 2],
                   help="comma-separated thread counts (default 1,2)")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--idle-wait", type=float, default=60.0,
                   help="before each measurement, wait up to this many seconds for other "
                        "processes to leave the CPUs idle (0: don't; default 60)")
    p.add_argument("--idle-threshold", type=float, default=0.10,
                   help="CPU-busy fraction (over 1 s, all CPUs) counted as idle (default 0.10)")
    p.add_argument("--em-bin", type=Path,
                   help="bench_gmm binary; default: cargo build --release --example bench_gmm "
                        "and use target/release/examples/bench_gmm")
    p.add_argument("--rss", action="store_true",
                   help="also measure peak RSS of a 10,000,000 x 2, K = 3 fit (5 iterations)")
    p.add_argument("--no-compare", action="store_true", help="skip the timing table")
    p.add_argument("--json", type=Path, help="write all raw results here")
    args = p.parse_args()
    args.case = args.case or DEFAULT_CASES
    if args.iters and args.iters < 2:
        p.error("--iters must be at least 2")

    if args.em_bin is None:
        subprocess.run(["cargo", "build", "--release", "--example", "bench_gmm"],
                       cwd=REPO, check=True)
        binary = REPO / "target" / "release" / "examples" / "bench_gmm"
    else:
        binary = args.em_bin.resolve()

    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    env = {v: os.environ.get(v, "(unset)") for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"Python {platform.python_version()}, NumPy {np.__version__}, "
          f"scikit-learn {sklearn.__version__}")
    for i in blas:
        print(f"# BLAS: {i.get('internal_api')} {i.get('version')}, "
              f"kernel {i.get('architecture')}, threading {i.get('threading_layer')}, "
              f"default threads {i.get('num_threads')}")
    print(f"# env: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    print(f"# start: {load()}")
    sys.stdout.flush()

    peaks = {}
    for t in args.threads:
        wait_idle(args)
        peaks[t] = dgemm_peak(t)
    print("# dgemm peak (numpy.dot 2000x2000, best of 5): "
          + ", ".join(f"{t} thread{'s' if t > 1 else ''} {g:.1f} GFLOP/s" for t, g in peaks.items()))
    out = {"peaks_gflops": peaks, "env": env, "blas": blas, "load_start": os.getloadavg()}

    ok = True
    if not args.no_compare:
        results = compare(args, binary)
        out["results"] = results
        print(f"# per-iteration time = (t(iters) - t(1)) / (iters - 1), fastest of "
              f"{args.repeat} run(s); {args.covariance} covariance; ratio = sklearn / em; "
              f"GFLOP/s from the approximation 4*N*K*D^2 flops per iteration")
        ok = print_table(results, peaks, args.threads)
        ident = all(
            r[f"em_{args.threads[0]}"]["final_log_likelihood"]
            == r[f"em_{t}"]["final_log_likelihood"]
            for r in results for t in args.threads
        )
        print(f"# em's final log-likelihood identical across thread counts: "
              f"{'yes' if ident else 'NO'}")
    if args.rss:
        wait_idle(args)
        rss = rss_check(binary, 10_000_000, 2, 3, 5, args.threads[-1], args.seed)
        out["rss"] = rss
        print(f"# peak RSS, {rss['n']} x {rss['d']}, K = {rss['k']}, {rss['iters']} iterations, "
              f"{rss['threads']} threads: {rss['max_rss_bytes'] / 1e6:.1f} MB "
              f"(/usr/bin/time -v) = {rss['ratio']:.3f} x the data ({rss['data_bytes'] / 1e6:.0f} MB)"
              f"; {'under' if rss['ratio'] < 1.5 else 'NOT under'} 1.5x")
    out["load_end"] = os.getloadavg()
    print(f"# end: {load()}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    if not ok:
        sys.exit("scikit-learn and em disagree (relative difference > 1e-6): not the same computation")


if __name__ == "__main__":
    main()
