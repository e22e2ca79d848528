#!/usr/bin/env bash
# Wake-up lateness of goal iterations: one bot, one goal, an agent that
# declares `delay 1s` N times. For each iteration it records
#   engine  = in_flight.started_at - in_flight.due_at  (the engine's wake-up:
#             from the due time to the iteration written as started)
#   process = the agent's own clock at its start - due_at  (adds the run's
#             record, the process spawn and the shell's start)
# and prints p50/p99/max of both in milliseconds.
#
#   scripts/bench/goal_wakeup.sh [N]        (default 100 iterations, ~2 min)
#
# ALICE_BIN=path/to/alice skips the release build. Needs jq and python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-100}
if [ -z "${ALICE_BIN:-}" ]; then
  cargo build --release --quiet --bin alice
  ALICE_BIN="${CARGO_TARGET_DIR:-target}/release/alice"
fi
ALICE_BIN=$(realpath "$ALICE_BIN")
dir=$(mktemp -d)
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
read -r admin base < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')

cat > "$dir/agent.sh" <<AGENT
#!/bin/sh
now=\$(date +%s.%N)
cat > /dev/null
"\$ALICE_RUNTIME_BIN" runtime goal get | jq -c --arg now "\$now" \
  '{due: .in_flight.due_at, started: .in_flight.started_at, now: \$now}' >> "$dir/samples"
if [ "\$(wc -l < "$dir/samples")" -ge $n ]; then
  "\$ALICE_RUNTIME_BIN" runtime goal complete > /dev/null
else
  "\$ALICE_RUNTIME_BIN" runtime goal delay 1s "bench" > /dev/null
fi
AGENT
cat > "$dir/bots.toml" <<TOML
[supervisor]
data_dir = "$dir/data"
admin_addr = "127.0.0.1:$admin"
base_port = $base
[bots.bench]
runtime_http_token = "bench-token"
  [bots.bench.agent]
  command = ["sh", "$dir/agent.sh"]
  [bots.bench.goal]
  min_delay = "1s"
  max_iterations = 100000
TOML
"$ALICE_BIN" serve --config "$dir/bots.toml" 2> "$dir/serve.log" &
serve_pid=$!

export ALICE_RUNTIME_API_BASE_URL="http://127.0.0.1:$base"
export ALICE_RUNTIME_API_TOKEN=bench-token
export ALICE_RECEIVE_ID=oc_bench
for _ in $(seq 100); do
  "$ALICE_BIN" runtime bot > /dev/null 2>&1 && break
  sleep 0.1
done
"$ALICE_BIN" runtime goal create "Benchmark the wake-up" > /dev/null
echo "goal set; waiting for $n iterations (1 s apart)…" >&2
while [[ "$("$ALICE_BIN" runtime goal get)" == *in_progress* ]]; do sleep 1; done

python3 - "$dir/samples" <<'PY'
import json, sys
from datetime import datetime
def t(s): return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
rows = [json.loads(l) for l in open(sys.argv[1])]
engine = sorted((t(r["started"]) - t(r["due"])) * 1000 for r in rows)
process = sorted((float(r["now"]) - t(r["due"])) * 1000 for r in rows)
def pct(xs, p): return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
print(f"iterations: {len(rows)}")
for name, xs in (("engine ", engine), ("process", process)):
    print(f"{name} lateness ms: p50 {pct(xs, 50):.1f}  p99 {pct(xs, 99):.1f}  max {xs[-1]:.1f}")
PY
