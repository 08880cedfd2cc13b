#!/usr/bin/env bash
# A Ballista cluster on this machine: one scheduler and two executors, each a process of its
# own (the em-ballista binary, which registers em's codecs), for `em-ballista fit` to run on.
#
#   bash crates/ballista/cluster.sh start    # build (release), start, wait until listening
#   target/release/em-ballista fit FILE.parquet -k 6 --partitions 2
#   bash crates/ballista/cluster.sh status   # the processes and their peak RSS
#   bash crates/ballista/cluster.sh stop
#
# Ports: scheduler 50050; executors 50051/50052 and 50061/50062 (Flight/gRPC). Each executor
# runs EM_CLUSTER_TASKS tasks at once (default 1). Logs, pids and shuffle files go to
# EM_CLUSTER_DIR (default /tmp/em-ballista-cluster).
set -euo pipefail
cd "$(dirname "$0")"
dir="${EM_CLUSTER_DIR:-/tmp/em-ballista-cluster}"
tasks="${EM_CLUSTER_TASKS:-1}"
exe="$PWD/target/release/em-ballista"

wait_for() { # port, pid
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || { echo "process $2 ended before listening on $1 (logs in $dir)"; exit 1; }
    sleep 0.1
  done
  echo "nothing listens on port $1 after 30 s (logs in $dir)"; exit 1
}

case "${1:-}" in
  start)
    cargo build --release --locked
    mkdir -p "$dir"
    if [ -s "$dir/pids" ]; then echo "a cluster runs already ($dir/pids); stop it first"; exit 1; fi
    "$exe" scheduler --port 50050 > "$dir/scheduler.log" 2>&1 &
    echo "$! scheduler" > "$dir/pids"
    wait_for 50050 $!
    for e in 0 1; do
      mkdir -p "$dir/executor-$e"
      "$exe" executor --scheduler-port 50050 --port $((50051 + 10 * e)) \
        --grpc-port $((50052 + 10 * e)) --tasks "$tasks" --work-dir "$dir/executor-$e" \
        > "$dir/executor-$e.log" 2>&1 &
      echo "$! executor-$e" >> "$dir/pids"
      wait_for $((50051 + 10 * e)) $!
      wait_for $((50052 + 10 * e)) $!
    done
    echo "scheduler df://localhost:50050 and 2 executors of $tasks task(s) each are up"
    ;;
  status)
    [ -s "$dir/pids" ] || { echo "no cluster"; exit 0; }
    while read -r pid name; do
      if [ -r "/proc/$pid/status" ]; then
        echo "$name (pid $pid): peak RSS $(( $(awk '/VmHWM/ {print $2}' "/proc/$pid/status") / 1024 )) MB"
      else
        echo "$name (pid $pid): not running"
      fi
    done < "$dir/pids"
    ;;
  stop)
    [ -s "$dir/pids" ] || { echo "no cluster"; exit 0; }
    while read -r pid _; do kill "$pid" 2>/dev/null || true; done < "$dir/pids"
    rm -f "$dir/pids"
    echo "stopped"
    ;;
  *)
    echo "usage: bash crates/ballista/cluster.sh start|status|stop"; exit 2
    ;;
esac
