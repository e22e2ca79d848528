#!/usr/bin/env bash
# Requests/s of `GET /healthz` and an authenticated `GET /api/v1/bot` on one
# bot: this tree (metrics, spans, probes) against the build before metrics
# landed (the parent of the first commit touching src/metrics), in one run,
# the two builds taking turns. Both are built with --release.
#
#   scripts/bench/http_metrics.sh [--secs S] [--conns C] [--rounds R]
#
# CARGO_TARGET_DIR is honoured (default: ./target). The loader shares the
# machine with the servers, as it would with any load tool on one host.
set -euo pipefail
cd "$(dirname "$0")/../.."
target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
first=$(git log --format=%H -- src/metrics | tail -1)
before=$(git rev-parse --short "$first^")
keep="$target/bench-http"
mkdir -p "$keep"
if [ ! -x "$keep/alice-$before" ]; then
    tree="$keep/tree-$before"
    rm -rf "$tree" && mkdir -p "$tree"
    git archive "$before" | tar -x -C "$tree"
    (cd "$tree" && CARGO_TARGET_DIR="$target" cargo build --release --quiet --bin alice)
    cp "$target/release/alice" "$keep/alice-$before"
    rm -rf "$tree"
fi
CARGO_TARGET_DIR="$target" cargo build --release --quiet --bin alice --example bench_http
cp "$target/release/alice" "$keep/alice-now"
exec "$target/release/examples/bench_http" "$@" \
    "before-metrics=$keep/alice-$before" "now=$keep/alice-now"
