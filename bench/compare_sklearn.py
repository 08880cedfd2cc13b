#!/usr/bin/env python3
"""Side-by-side: scikit-learn's GaussianMixture vs em's (examples/bench_gmm.rs), per EM iteration.

With ``--armadillo``, Armadillo's ``gmm_full`` / ``gmm_diag`` (bench/armadillo/bench_arma.cpp)
is a third column.

For each case (N, D, K) this script, in one run on one machine:

1. draws N rows of a known K-component mixture in D dimensions with NumPy (seeded), and the
   starting parameters (the true weights and covariances, every mean shifted by 0.5);
2. writes them to a temporary directory (meta.txt, x.f64, init.f64: see bench/README.md);
3. times scikit-learn's ``GaussianMixture.fit`` from those parameters (``weights_init``,
   ``means_init``, ``precisions_init`` = the inverse covariances, ``tol=0``, ``reg_covar=1e-6``)
   with 1 and with 2 BLAS threads (threadpoolctl);
4. runs ``target/release/examples/bench_gmm`` on the same files with ``--threads 1`` and 2;
5. with ``--armadillo``, builds bench/armadillo/bench_arma.cpp (g++, OpenMP, libarmadillo-dev)
   and runs it on the same files with ``OMP_NUM_THREADS`` = 1 and 2 (``OPENBLAS_NUM_THREADS=1``);
6. checks scikit-learn and em reach the same final log-likelihood (relative 1e-6) and the same
   means; Armadillo's M-step differs slightly (a variance floor instead of reg_covar), so
   against it the relative differences are reported and only a gross one (> 1e-3) fails;
7. prints one table: seconds per iteration, ratios, em's GFLOP/s against a measured dgemm peak.

Per-iteration time, for every side: ``(t(n) - t(1)) / (n - 1)`` where ``t(m)`` is the fastest
of ``--repeat`` runs of a fit with ``max_iter = m`` (Armadillo: ``learn`` with ``em_iter = m``)
from the same start. scikit-learn and em do one more E-step than M-steps per fit
(scikit-learn a final E-step for labels, em an E-step at the starting parameters) and fixed
costs (validation, scikit-learn's initialisation, which is ``init_params="random_from_data"``
here and then overridden by the given parameters, thread pool start-up); the difference
cancels them, leaving exactly (n - 1) x (one E-step + one M-step). em times only its EM loop
(not reading files); scikit-learn's ``fit`` is timed whole. Armadillo's harness times
``learn`` only: one pass over the data per iteration (E-step and M-step sums fused), plus fixed
costs (a finiteness scan, a copy of the model, the final inverses) that cancel the same way.

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
ARMA_SOURCE = REPO / "bench" / "armadillo" / "bench_arma.cpp"
# Armadillo's M-step is not scikit-learn's (see bench/README.md): only a larger relative
# difference than this, in the log-likelihood or the means, counts as a different computation.
ARMA_GROSS = 1e-3


def parse_case(text: str) -> tuple[int, int, int]:
    try:
        n, d, k = (int(v.replace("_", "")) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"case {text!r}: expected N,D,K") from None
    return n, d, k


def default_iters(n: int, d: int, k: int) -> int:
    """EM iterations per fit when --iters is not given: 20, 10 when N*K*D^2 >= 5e7, and 5 when
    N*K*D >= 1e9 (e.g. the 1,000,000 x 64, K = 64 diagonal grid), where one iteration takes
    seconds on every side and each side runs --repeat x (iters + 1) iterations per thread count
    (Armadillo iters more: its untimed check run). The per-iteration figure is a difference of
    two fits, so fewer, longer iterations cost it little resolution. The six default cases
    keep 20 or 10, as before."""
    if n * k * d >= 1_000_000_000:
        return 5
    return 20 if n * k * d * d < 50_000_000 else 10


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
    # Column-major (x.T in C order), little-endian: nalgebra's layout. One contiguous copy, so
    # tofile writes it in one go (a strided array is written element by element).
    np.ascontiguousarray(x.T, dtype="<f8").tofile(directory / "x.f64")
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


def build_armadillo(out_dir: Path) -> Path:
    """Compiles bench/armadillo/bench_arma.cpp into out_dir (target/bench_arma) with $CXX or
    g++, OpenMP and Armadillo's headers calling BLAS/LAPACK directly (no libarmadillo wrapper);
    exits with the apt-get command for libarmadillo-dev if it does not compile."""
    out_dir.mkdir(parents=True, exist_ok=True)
    binary = out_dir / "bench_arma"
    cmd = [os.environ.get("CXX", "g++"), "-O3", "-march=native", "-fopenmp",
           "-DARMA_DONT_USE_WRAPPER", str(ARMA_SOURCE), "-o", str(binary),
           "-llapack", "-lblas"]
    print("# " + " ".join(cmd), flush=True)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True)
        error = out.stderr if out.returncode != 0 else None
    except OSError as e:
        error = f"{cmd[0]}: {e}"
    if error is not None:
        missing = "armadillo: No such file" in error or "armadillo': No such file" in error
        sys.exit(f"{error.strip()[-2000:]}\n"
                 + ("Armadillo's headers are not installed. " if missing else "")
                 + "Building the Armadillo harness needs g++ with OpenMP and libarmadillo-dev "
                 "(which pulls in BLAS and LAPACK): apt-get install -y libarmadillo-dev")
    return binary


def armadillo_env(threads: int) -> dict:
    """The harness's environment: OMP_NUM_THREADS = threads (Armadillo's gmm splits the data
    into omp_get_max_threads() chunks) and one BLAS thread, so that only OpenMP's count."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               BLIS_NUM_THREADS="1")
    return env


def run_armadillo(binary, directory, iters, repeat, threads):
    """Runs the Armadillo harness on a case directory; its JSON line as a dict. When learn()
    stopped before `iters` iterations (its stopping rule, see bench/README.md), runs it again
    as `iters` chained one-iteration calls (`--chained`, reported as "chained": true). Raises
    if even that did fewer iterations or Armadillo used another thread count."""
    def once(*extra):
        out = subprocess.run(
            [str(binary), "--dir", str(directory), "--iters", str(iters), "--repeat",
             str(repeat), *extra],
            check=True, capture_output=True, text=True, env=armadillo_env(threads),
        )
        return json.loads(out.stdout)

    report = once()
    if report["iterations"] != iters:
        report = once("--chained")
    if report["iterations"] != iters:
        raise RuntimeError(f"Armadillo's learn() ran {report['iterations']} EM iterations, "
                           f"not {iters} (it stops when avg_log_p changes by <= DBL_EPSILON)")
    if report["threads"] != threads:
        raise RuntimeError(f"Armadillo ran with {report['threads']} OpenMP threads, not {threads}")
    return report


def shared_libraries(binary, names=("blas", "lapack", "gomp")):
    """{library: resolved path} of the shared libraries `binary` loads whose name contains one
    of `names` (ldd, then symlinks such as Debian's alternatives resolved); {} without ldd."""
    try:
        out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    except OSError:
        return {}
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "=>" and any(n in parts[0] for n in names):
            found[parts[0]] = os.path.realpath(parts[2])
    return found


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


def compare(args, binary, arma_binary=None):
    results = []
    for n, d, k in args.case:
        iters = args.iters or default_iters(n, d, k)
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
                if arma_binary is not None:
                    busy.append(wait_idle(args))
                    row[f"armadillo_{t}"] = run_armadillo(
                        arma_binary, directory, iters, args.repeat, t
                    )
            row["cpu_busy_before"] = busy
            results.append(row)
            seen = ", ".join("-" if b is None else f"{100 * b:.0f}%" for b in busy)
            sides = "sklearn, em, armadillo" if arma_binary is not None else "sklearn, em"
            print(f"#   done ({n}, {d}, {k}) x {iters} iterations; CPU busy before each "
                  f"measurement ({sides} per thread count): {seen}; {load()}", flush=True)
        finally:
            del x
            shutil.rmtree(directory, ignore_errors=True)
    return results


def agreement(row, t, other="sklearn"):
    """Relative differences between `other`'s (sklearn or armadillo) and em's results with T
    threads: |Δ log-likelihood| / |log-likelihood of other|, max |Δμ| / max |μ of other|."""
    ref, em = row[f"{other}_{t}"], row[f"em_{t}"]
    ll_ref, ll_em = ref["final_log_likelihood"], em["final_log_likelihood"]
    rel_ll = abs(ll_ref - ll_em) / abs(ll_ref)
    mu_ref, mu_em = np.array(ref["final_means"]), np.array(em["final_means"])
    rel_mu = float(np.max(np.abs(mu_ref - mu_em)) / np.max(np.abs(mu_ref)))
    return rel_ll, rel_mu


def worst_agreement(row, threads, other="sklearn"):
    """The larger relative differences (log-likelihood, means) over the thread counts."""
    worst_ll, worst_mu = 0.0, 0.0
    for t in threads:
        rel_ll, rel_mu = agreement(row, t, other)
        worst_ll, worst_mu = max(worst_ll, rel_ll), max(worst_mu, rel_mu)
    return worst_ll, worst_mu


def print_table(results, peaks, threads, armadillo=False):
    """Prints the markdown table; returns (scikit-learn and em agree within 1e-6, Armadillo
    and em within ARMA_GROSS (True without armadillo))."""
    t1, t2 = threads[0], threads[-1]
    head = ["case (N, D, K)", "iters"]
    head += [f"sklearn {t}T" for t in threads] + [f"em {t}T" for t in threads]
    if armadillo:
        head += [f"armadillo {t}T" for t in threads]
    head += [f"ratio {t}T" for t in threads]
    if armadillo:
        head += [f"em vs armadillo {t}T" for t in threads]
    if len(threads) > 1:
        head += [f"em {t2}T/{t1}T speed-up"]
    head += [f"em GFLOP/s {t}T (% of dgemm {t}T)" for t in threads]
    head += ["rel. diff log-lik / means", "agree"]
    if armadillo:
        head += ["armadillo rel. diff log-lik / means", "armadillo agree"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    all_agree, arma_agree = True, True

    def ratio(row, other, t):
        """`other`'s (sklearn or armadillo) seconds per iteration over em's, with T threads."""
        per_it = row[f"{other}_{t}"]["seconds_per_iteration"]
        return f"{per_it / row[f'em_{t}']['seconds_per_iteration']:.2f}x"

    for row in results:
        n, d, k = row["n"], row["d"], row["k"]
        cells = [f"{n}, {d}, {k}", str(row["iters"])]
        cells += [fmt_s(row[f"sklearn_{t}"]["seconds_per_iteration"]) for t in threads]
        cells += [fmt_s(row[f"em_{t}"]["seconds_per_iteration"]) for t in threads]
        if armadillo:
            # † : chained one-iteration learn() calls (learn(iters) stopped early).
            cells += [fmt_s(row[f"armadillo_{t}"]["seconds_per_iteration"])
                      + (" †" if row[f"armadillo_{t}"].get("chained") else "")
                      for t in threads]
        cells += [ratio(row, "sklearn", t) for t in threads]
        if armadillo:
            cells += [ratio(row, "armadillo", t) for t in threads]
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
        worst_ll, worst_mu = worst_agreement(row, threads)
        ok = worst_ll <= 1e-6 and worst_mu <= 1e-6
        all_agree &= ok
        cells += [f"{worst_ll:.1e} / {worst_mu:.1e}", "yes" if ok else "NO"]
        if armadillo:
            worst_ll, worst_mu = worst_agreement(row, threads, "armadillo")
            ok = worst_ll <= ARMA_GROSS and worst_mu <= ARMA_GROSS
            arma_agree &= ok
            close = worst_ll <= 1e-6 and worst_mu <= 1e-6
            cells += [f"{worst_ll:.1e} / {worst_mu:.1e}",
                      ("yes" if close else "close") if ok else "NO"]
        print("| " + " | ".join(cells) + " |")
    if armadillo and any(row[f"armadillo_{t}"].get("chained") for row in results
                         for t in threads):
        print("# †: Armadillo's learn() stopped before the iterations asked for (its avg_log_p "
              "changed by <= DBL_EPSILON); timed as that many chained one-iteration learn() "
              "calls, which adds learn()'s fixed costs to every iteration")
    return all_agree, arma_agree


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
                   help="N,D,K (repeatable); default: six sizes from 10000,2,3 to 1000000,2,3 "
                        "and 20000,200,5 (DEFAULT_CASES); larger published grids: "
                        "100000,32,16 (full), 1000000,64,64 (--covariance diag)")
    p.add_argument("--covariance", choices=["full", "diag"], default="full")
    p.add_argument("--iters", type=int, default=0,
                   help="EM iterations per fit (>= 2); default 20, 10 when N*K*D^2 >= 5e7, "
                        "5 when N*K*D >= 1e9")
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
    p.add_argument("--armadillo", action="store_true",
                   help="also time Armadillo's gmm_full / gmm_diag (bench/armadillo/bench_arma.cpp,"
                        " built with g++ -fopenmp; needs apt-get install -y libarmadillo-dev)")
    p.add_argument("--arma-bin", type=Path,
                   help="prebuilt Armadillo harness (implies --armadillo); default: build it "
                        "into target/bench_arma/")
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
    arma_binary = None
    if args.arma_bin is not None:
        arma_binary = args.arma_bin.resolve()
    elif args.armadillo:
        arma_binary = build_armadillo(REPO / "target" / "bench_arma")

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
    if arma_binary is not None:
        libs = shared_libraries(arma_binary)
        print(f"# Armadillo harness {arma_binary}: OMP_NUM_THREADS = threads, "
              f"OPENBLAS_NUM_THREADS=1; links "
              + (", ".join(f"{name} -> {path}" for name, path in libs.items()) or "(ldd failed)"))
    print(f"# start: {load()}")
    sys.stdout.flush()

    peaks = {}
    for t in args.threads:
        wait_idle(args)
        peaks[t] = dgemm_peak(t)
    print("# dgemm peak (numpy.dot 2000x2000, best of 5): "
          + ", ".join(f"{t} thread{'s' if t > 1 else ''} {g:.1f} GFLOP/s" for t, g in peaks.items()))
    out = {"peaks_gflops": peaks, "env": env, "blas": blas, "load_start": os.getloadavg()}
    if arma_binary is not None:
        out["armadillo_libraries"] = shared_libraries(arma_binary)

    ok, arma_ok = True, True
    if not args.no_compare:
        results = compare(args, binary, arma_binary)
        out["results"] = results
        print(f"# per-iteration time = (t(iters) - t(1)) / (iters - 1), fastest of "
              f"{args.repeat} run(s); {args.covariance} covariance; ratio = sklearn / em"
              + ("; em vs armadillo = armadillo / em" if arma_binary is not None else "")
              + "; GFLOP/s from the approximation 4*N*K*D^2 flops per iteration")
        ok, arma_ok = print_table(results, peaks, args.threads, arma_binary is not None)
        ident = all(
            r[f"em_{args.threads[0]}"]["final_log_likelihood"]
            == r[f"em_{t}"]["final_log_likelihood"]
            for r in results for t in args.threads
        )
        print(f"# em's final log-likelihood identical across thread counts: "
              f"{'yes' if ident else 'NO'}")
        if arma_binary is not None:
            print("# armadillo agree: yes = within 1e-6 of em, close = within "
                  f"{ARMA_GROSS:g} (its M-step differs: variance floor instead of reg_covar, "
                  "see bench/README.md), NO = a different computation")
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
    if not arma_ok:
        sys.exit(f"Armadillo and em disagree (relative difference > {ARMA_GROSS:g}): "
                 "not the same computation")


if __name__ == "__main__":
    main()
