#!/usr/bin/env python3
"""Two builds of em's `bench_gmm` side by side, interleaved, on the cases of
`compare_sklearn.py`: did a change make an EM iteration slower?

    # build the "before" binary from another checkout, e.g.
    git worktree add --detach /tmp/em-before REV
    (cd /tmp/em-before && cargo build --release --example bench_gmm --target-dir /tmp/before-target)
    cargo build --release --example bench_gmm
    python3 bench/compare_revisions.py \
        --before /tmp/before-target/release/examples/bench_gmm \
        --after target/release/examples/bench_gmm --rounds 3

Each case's data are written once (same data, same start, `compare_sklearn.make_case`), then
the two binaries run alternately `--rounds` times per thread count, each run itself the fastest
of `--repeat`; per binary the fastest round is kept, and the table gives after/before as a
ratio (< 1: faster). Alternating keeps slow drifts of a shared machine out of the ratio. The
final log-likelihoods of both builds are printed too: a refactoring should leave them equal.
It imports the data recipe from compare_sklearn.py, so it needs what that script needs
(`pip install scikit-learn threadpoolctl`), though it runs no scikit-learn fit.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_sklearn import (  # noqa: E402
    DEFAULT_CASES,
    make_case,
    parse_case,
    run_em,
    write_case,
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--before", type=Path, required=True)
    p.add_argument("--after", type=Path, required=True)
    p.add_argument("--case", type=parse_case, action="append")
    p.add_argument("--covariance", choices=["full", "diag"], default="full")
    p.add_argument("--threads", type=lambda s: [int(v) for v in s.split(",")], default=[1, 2])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--seed", type=int, default=2024)
    args = p.parse_args()
    cases = args.case or DEFAULT_CASES
    print(f"# {args.covariance}; rounds {args.rounds} x repeat {args.repeat}; "
          "ms per iteration, fastest round")
    print("| N, D, K | threads | before | after | after / before | same log-likelihood |")
    print("| --- | --- | --- | --- | --- | --- |")
    for n, d, k in cases:
        iters = 20 if n * k * d * d < 50_000_000 else 10
        directory = Path(tempfile.mkdtemp(prefix="em-rev-"))
        try:
            x, weights, means, covs, _ = make_case(n, d, k, args.covariance, args.seed)
            write_case(directory, x, weights, means, covs, args.covariance)
            del x
            for t in args.threads:
                best = {"before": None, "after": None}
                ll = {}
                for _ in range(args.rounds):
                    for name in ("before", "after"):
                        binary = getattr(args, name)
                        r = run_em(binary, directory, iters, args.repeat, t)
                        s = r["seconds_per_iteration"]
                        best[name] = s if best[name] is None else min(best[name], s)
                        ll[name] = r["final_log_likelihood"]
                b, a = best["before"], best["after"]
                same = "yes" if ll["before"] == ll["after"] else (
                    f"no ({ll['before']!r} vs {ll['after']!r})")
                print(f"| {n:,}, {d}, {k} | {t} | {1e3 * b:.3f} | {1e3 * a:.3f} | "
                      f"{a / b:.3f} | {same} |", flush=True)
        finally:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
