#!/usr/bin/env bash
# Instructions per authenticated `GET /api/v1/automation/tasks/{id}`, counted
# by callgrind (exact on a shared, loaded machine where wall time is not):
# one bot under valgrind, one task, wrk with 1 connection for SECS after a
# warm-up; the counters are zeroed after the warm-up, so the figure is
# (instructions of the server while loaded) / (requests answered).
#
#   scripts/bench/profile.sh ALICE_BINARY [SECS] [OUT_DIR]
#   scripts/bench/profile.sh --bare BARE_HTTP_BINARY [SECS] [OUT_DIR]
#   PROFILE_PATH=/healthz scripts/bench/profile.sh …   (another route)
#
# --bare: the same load on the bare actix handler (scripts/bench/bare_http.rs)
# answering a task-sized body, for the baseline.
#
# Writes OUT_DIR/callgrind.out (read it with callgrind_annotate) and prints
# `instructions_per_request N`.
set -euo pipefail
bare=""
if [ "${1:-}" = --bare ]; then bare=1; shift; fi
bin=$(realpath "$1"); secs=${2:-10}; out=$(realpath -m "${3:-$(mktemp -d)}")
here=$(cd "$(dirname "$0")" && pwd)
"$here/install.sh"
command -v valgrind >/dev/null || apt-get install -y -qq valgrind >/dev/null
mkdir -p "$out"; work=$(mktemp -d)
token=bench-token-0123456789abcdef
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
admin=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
cat > "$work/bots.toml" <<TOML
[supervisor]
data_dir = "data"
admin_addr = "127.0.0.1:$admin"

[bots.bench]
runtime_http_addr = "127.0.0.1:$port"
runtime_http_token = "$token"
[bots.bench.limits]
requests_per_minute = 100000000
[bots.bench.goal]
enabled = false
TOML
cd "$work"
if [ -n "$bare" ]; then
    echo '{"status":"ok"}' >health.json
    # A body the size of a task's answer.
    python3 -c 'import json;print(json.dumps({"id":"t"*26,"title":"bench","text":"hello","cron":"0 0 1 1 *","status":"active","created_at":"2026-12-01T00:00:00Z","updated_at":"2026-12-01T00:00:00Z","next_run_at":"2027-01-01T00:00:00Z","runs":0,"scope_type":"chat","scope_id":"oc_bench"}))' >task.json
    valgrind --tool=callgrind --compress-strings=no --compress-pos=no --callgrind-out-file="$out/callgrind.out" \
        "$bin" "$port" health.json task.json >"$out/server.log" 2>&1 &
else
RUST_LOG=${RUST_LOG:-warn} valgrind --tool=callgrind --compress-strings=no --compress-pos=no --callgrind-out-file="$out/callgrind.out" \
    "$bin" serve --config bots.toml >"$out/server.log" 2>&1 &
fi
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
if [ -n "$bare" ]; then id=bare; else
id=$(curl -sS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -H 'X-Alice-Receive-Id: oc_bench' \
    -d '{"title":"bench","text":"hello","cron":"0 0 1 1 *","action":"send_text"}' \
    "http://127.0.0.1:$port/api/v1/automation/tasks" | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
fi
url="http://127.0.0.1:$port${PROFILE_PATH:-/api/v1/automation/tasks/$id}"
wrk -t1 -c1 -d2s -H "Authorization: Bearer $token" "$url" >/dev/null
callgrind_control -z "$pid" >/dev/null 2>&1
wrk -t1 -c1 -d"${secs}s" -H "Authorization: Bearer $token" "$url" >"$out/wrk.txt"
callgrind_control -d "$pid" >/dev/null 2>&1
sleep 1
requests=$(awk '/requests in/ {print $1}' "$out/wrk.txt")
# The dump after zeroing is the newest `callgrind.out.<pid>.<n>` file.
dump=$(ls -t "$out"/callgrind.out.* | head -1)
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
echo "requests $requests"
echo "instructions_per_request $((total / requests))"
echo "profile $dump"
