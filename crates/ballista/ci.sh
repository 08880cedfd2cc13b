#!/usr/bin/env bash
# CI of em-ballista, its own Cargo workspace: formatting, lints, tests (the codecs' unit tests,
# the doc tests, and tests/cluster.rs, which starts a scheduler and two executors as processes
# of their own on this machine). Ballista's scheduler, executor and gRPC stack take long to
# build cold, so `.ci/run` runs this only when EM_CI_BALLISTA=1; by hand:
# `bash crates/ballista/ci.sh`.
set -euo pipefail
cd "$(dirname "$0")"
start=$(date +%s)
cargo fmt -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
echo "crates/ballista/ci.sh: done after $(( $(date +%s) - start )) s"
