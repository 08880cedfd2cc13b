#!/usr/bin/env bash
# CI of em-datafusion, its own Cargo workspace (DataFusion needs Rust 1.94 and builds for a
# long time, so the root workspace's `cargo test` leaves it out): formatting, lints, tests
# (unit, integration and doc tests). `.ci/run` calls it as a step of its own; it also runs by
# hand: `bash crates/datafusion/ci.sh`.
set -euo pipefail
cd "$(dirname "$0")"
start=$(date +%s)
cargo fmt -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
echo "crates/datafusion/ci.sh: done after $(( $(date +%s) - start )) s"
