#!/usr/bin/env bash
# EM on 10^7 rows (D = 5, K = 6) from one Parquet file: in memory, streamed, on DataFusion
# with 1 and 2 partitions, and on a Ballista scheduler with two executors (one task each);
# seconds per iteration and peak RSS of each, one process per mode under /usr/bin/time -v (and,
# for Ballista, the peak RSS of the scheduler and executors), all in one run. Results:
# bench/README.md ("EM on DataFusion"). EM_BENCH_BALLISTA=0 leaves Ballista out (its release
# build takes about 15 minutes).
#
#   bash bench/engine.sh [ROWS] [FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-10000000}"
file="${2:-/tmp/em-engine-bench.parquet}"
iters=5

cargo build --release --locked -p em-cli
cargo build --release --locked --manifest-path crates/datafusion/Cargo.toml --example bench_engine
ballista="${EM_BENCH_BALLISTA:-1}"
if [ "$ballista" = 1 ]; then
  cargo build --release --locked --manifest-path crates/ballista/Cargo.toml
fi
bench=crates/datafusion/target/release/examples/bench_engine

[ -f "$file" ] || "$bench" write "$file" --n "$rows"
ls -l "$file"

measure() { # label, command…
  local label="$1"; shift
  /usr/bin/time -v "$@" > /tmp/em-engine-out.txt 2> /tmp/em-engine-time.txt
  # The streamed fit's whole report is left out: its wall time is what is measured.
  [ "${quiet:-0}" = 1 ] || grep -v '^$' /tmp/em-engine-out.txt | sed "s/^/[$label] /"
  echo "[$label] wall $(grep 'Elapsed (wall' /tmp/em-engine-time.txt | awk '{print $NF}'), peak RSS $(( $(grep 'Maximum resident' /tmp/em-engine-time.txt | awk '{print $NF}') / 1024 )) MB"
}

measure memory "$bench" memory "$file" --iters "$iters"
measure "datafusion, 1 partition" "$bench" datafusion "$file" --partitions 1 --iters "$iters"
measure "datafusion, 2 partitions" "$bench" datafusion "$file" --partitions 2 --iters "$iters"
# The streamed fit of the em command line (em-io's Parquet reader, row group by row group), from
# its own start (one k-means++ restart on a sample). It reports no timings, so its seconds per
# iteration are the difference of two runs, of 1 and of 1 + $iters iterations, over $iters.
quiet=1 measure "streamed, 1 iteration" target/release/em fit "$file" -k 6 --stream --n-init 1 --max-iter 1 --tol 0
one=$(grep 'Elapsed (wall' /tmp/em-engine-time.txt | awk '{print $NF}')
quiet=1 measure "streamed, $((iters + 1)) iterations" target/release/em fit "$file" -k 6 --stream --n-init 1 --max-iter $((iters + 1)) --tol 0
many=$(grep 'Elapsed (wall' /tmp/em-engine-time.txt | awk '{print $NF}')
python3 -c "
def s(t):
    p = t.split(':'); return sum(float(x) * 60 ** i for i, x in enumerate(reversed(p)))
print('[streamed] %.3f s per iteration' % ((s('$many') - s('$one')) / $iters))
"

if [ "$ballista" = 1 ]; then
  # `em-ballista fit` starts from the same parameters as bench_engine (a full-covariance fit to
  # the first 20 000 rows, seed 0); its JSON report has the fit's own seconds (start excluded).
  bash crates/ballista/cluster.sh start
  trap 'bash crates/ballista/cluster.sh stop' EXIT
  measure "ballista, 2 executors" crates/ballista/target/release/em-ballista fit "$file" -k 6 \
    --partitions 2 --max-iter "$iters" --tol 0 --json /tmp/em-engine-ballista.json
  python3 -c "
import json
f = json.load(open('/tmp/em-engine-ballista.json'))['fit']
print('[ballista, 2 executors] %d E-steps in %.2f s: %.3f s per iteration; mean log-likelihood %.8f'
      % (f['e_steps'], f['seconds'], f['seconds'] / f['e_steps'], f['log_likelihood'] / f['rows']))
"
  bash crates/ballista/cluster.sh status | sed 's/^/[ballista, 2 executors] /'
fi
