#!/bin/sh
# Codex as a bot's agent, against a fake model (Responses API) on loopback:
# the model asks for the bot's MCP tool `echo` (a skill with `tool: true`),
# Codex lists the bot's tools at /mcp (the `initialize` era) with the run's
# token from `bearer_token_env_var` and calls it, and the run's answer
# carries what the tool returned.
#
#   npm install --prefix /tmp/cx @openai/codex
#   cargo build && CODEX=/tmp/cx/node_modules/.bin/codex scripts/mcp_codex.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
CODEX=${CODEX:-codex}
ALICE=${ALICE:-${CARGO_TARGET_DIR:-$root/target}/debug/alice}
dir=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT INT TERM

set -- $(python3 -c 'import socket
for _ in range(3):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
admin=$1 base=$2 model=$3

python3 "$root/scripts/fake_openai.py" "$model" "$dir/model.log" & pids="$pids $!"

mkdir -p "$dir/data/cc/workspace/skills/echo" "$dir/home/.codex"
cat > "$dir/data/cc/workspace/skills/echo/SKILL.md" <<'SKILL'
---
name: echo
description: Echo a word back, with the conversation it ran for
tool: true
parameters: {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]}
---
SKILL
cat > "$dir/data/cc/workspace/skills/echo/run.sh" <<'RUN'
#!/bin/sh
printf 'echoed %s in %s\n' "$(cat)" "${ALICE_RECEIVE_ID:-none}"
RUN
# The agent: Codex on the run's prompt, with the bot's MCP server (the
# run's token read from its environment) and the fake model.
cat > "$dir/agent.sh" <<AGENT
#!/bin/sh
exec "$CODEX" exec --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox \\
  -c model_provider=fake -m fake-model \\
  -c 'model_providers.fake={name="fake",base_url="http://127.0.0.1:$model/v1",wire_api="responses",env_key="FAKE_API_KEY"}' \\
  -c "mcp_servers.alice.url=\"\$ALICE_RUNTIME_API_BASE_URL/mcp\"" \\
  -c 'mcp_servers.alice.bearer_token_env_var="ALICE_RUNTIME_API_TOKEN"' \\
  "\$(cat)"
AGENT
cat > "$dir/bots.toml" <<TOML
[supervisor]
data_dir = "$dir/data"
admin_addr = "127.0.0.1:$admin"
base_port = $base

[bots.cc.agent]
command = ["sh", "$dir/agent.sh"]
env = { FAKE_API_KEY = "fake", HOME = "$dir/home", CODEX_HOME = "$dir/home/.codex" }
TOML

"$ALICE" serve --config "$dir/bots.toml" > "$dir/serve.log" 2>&1 & pids="$pids $!"
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$base/healthz" > /dev/null && break
  sleep 0.1
done

out=$("$ALICE" run --config "$dir/bots.toml" cc "Echo hello with your tool" --wait --timeout-ms 120000 || true)
echo "$out"
echo "--- tools the model was offered, and the tool's result it got back:"
python3 - "$dir/model.log" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
offered = sorted({t for l in lines for t in l["tools"] if "alice" in t})
print("offered:", offered)
results = [i for l in lines for i in (l["input"] or []) if isinstance(i, dict)
           and i.get("type") == "function_call_output"]
print("tool results:", json.dumps(results))
sys.exit(0 if any(t.endswith("echo") for t in offered) and results else 1)
PY
echo "$out" | grep -q "the tool said: .*echoed" && echo "OK: Codex listed and called the bot's tools"
