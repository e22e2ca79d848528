#!/usr/bin/env bash
# Durable automation-task creates/s with 64 concurrent clients against a raw
# sled insert+flush loop, in one run on one disk. Builds with --release.
#
#   scripts/bench_automation.sh [--secs S] [--clients N] [--dir PATH]
#
# CARGO_TARGET_DIR is honoured (default: ./target). --dir chooses the disk
# (default: $TMPDIR or /tmp); a tmpfs makes flushes free and the ratio moot.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --quiet --bin alice --example bench_automation
exec "$target/release/examples/bench_automation" "$target/release/alice" "$@"
