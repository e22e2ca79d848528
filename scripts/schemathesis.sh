#!/usr/bin/env bash
# Checks both OpenAPI documents against the running server: validates each
# as OpenAPI 3.1, then runs Schemathesis with every check on each bot's
# Runtime API and on the supervisor's admin API.
#
#   scripts/schemathesis.sh            # bounded: about 3 minutes on 2 cores
#   EXAMPLES=200 scripts/schemathesis.sh
#
# Installs pinned tools into .venv-schemathesis (gitignored) on first use,
# builds `alice`, and starts `alice serve` on a temporary config with two
# bots on free loopback ports. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VALIDATOR_VERSION=0.9.0
EXAMPLES=${EXAMPLES:-25}
# Where the documents and the server's log are kept (a temporary folder
# unless KEEP names one).
KEEP=${KEEP:-}
VENV=.venv-schemathesis

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION" ||
    ! "$VENV/bin/python" -c 'import openapi_spec_validator' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" \
        "openapi-spec-validator==$VALIDATOR_VERSION"
fi

cargo build -q --bin alice
BIN="${CARGO_TARGET_DIR:-target}/debug/alice"

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ -n "$KEEP" ]; then
        mkdir -p "$KEEP" && cp "$WORK"/*.json "$WORK"/serve.log "$KEEP"/ 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# Three free loopback ports: the admin API and two bots.
read -r ADMIN BOT_A BOT_B < <("$VENV/bin/python" - <<'EOF'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
EOF
)
ADMIN_TOKEN=schemathesis-admin-token
cat > "$WORK/bots.toml" <<EOF
[supervisor]
data_dir = "data"
admin_addr = "127.0.0.1:$ADMIN"
admin_token = "$ADMIN_TOKEN"
# The fuzzer is one client sending thousands of requests.
requests_per_minute = 1000000
failed_auth_per_minute = 1000000

[bots.a]
runtime_http_addr = "127.0.0.1:$BOT_A"
runtime_http_token = "schemathesis-bot-a-token"
  [bots.a.limits]
  requests_per_minute = 1000000
  failed_auth_per_minute = 1000000
  [bots.a.agent]
  command = ["sh", "-c", "cat >/dev/null; echo ok"]

[bots.b]
runtime_http_addr = "127.0.0.1:$BOT_B"
runtime_http_token = "schemathesis-bot-b-token"
  [bots.b.limits]
  requests_per_minute = 1000000
  failed_auth_per_minute = 1000000
  [bots.b.agent]
  command = ["sh", "-c", "cat >/dev/null; echo ok"]
  # Bot b offers its tools (and MCP to its main token); bot a keeps the
  # default, so both the 403 and the tool calls are fuzzed.
  [bots.b.tools]
  invoke_enabled = true
EOF

"$BIN" serve --config "$WORK/bots.toml" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$BOT_B/healthz" >/dev/null 2>&1 &&
        curl -fs "http://127.0.0.1:$ADMIN/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

status=0
check() { # name, base url, token
    local name=$1 url=$2 token=$3
    echo "== $name: $url/openapi.json"
    curl -fsS "$url/openapi.json" -o "$WORK/$name.json"
    "$VENV/bin/python" -c 'import json, sys
from openapi_spec_validator import validate
validate(json.load(open(sys.argv[1])))
print("valid OpenAPI 3.1")' "$WORK/$name.json" || status=1
    "$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml run "$url/openapi.json" \
        --checks all \
        --header "Authorization: Bearer $token" \
        --max-examples "$EXAMPLES" \
        --workers 1 \
        --suppress-health-check all \
        --request-timeout 20 \
        --no-color \
        --seed 1 || status=1
}
check bot-a "http://127.0.0.1:$BOT_A" schemathesis-bot-a-token
check bot-b "http://127.0.0.1:$BOT_B" schemathesis-bot-b-token
check admin "http://127.0.0.1:$ADMIN" "$ADMIN_TOKEN"

if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "alice serve died; its log:" && tail -50 "$WORK/serve.log"
    status=1
fi
exit $status
