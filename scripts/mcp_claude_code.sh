#!/bin/sh
# Claude Code as a bot's agent, against a fake model on loopback: the model
# asks for the bot's MCP tool `echo` (a skill with `tool: true`), Claude Code
# lists the bot's tools at /mcp with the run's token and calls it, and the
# run's answer carries what the tool returned.
#
#   npm install --prefix /tmp/cc @anthropic-ai/claude-code
#   cargo build && CLAUDE=/tmp/cc/node_modules/.bin/claude scripts/mcp_claude_code.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
CLAUDE=${CLAUDE:-claude}
ALICE=${ALICE:-${CARGO_TARGET_DIR:-$root/target}/debug/alice}
dir=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT INT TERM

set -- $(python3 -c 'import socket
for _ in range(3):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
admin=$1 base=$2 model=$3

python3 "$root/scripts/fake_anthropic.py" "$model" "$dir/model.log" & pids="$pids $!"

mkdir -p "$dir/data/cc/workspace/skills/echo" "$dir/home"
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
# The agent: Claude Code on the run's prompt, with the bot's MCP server
# (the run's token expanded from its environment) and its tools allowed.
cat > "$dir/agent.sh" <<AGENT
#!/bin/sh
config='{"mcpServers":{"alice":{"type":"http","url":"'"\$ALICE_RUNTIME_API_BASE_URL"'/mcp",
  "headers":{"Authorization":"Bearer \${ALICE_RUNTIME_API_TOKEN}"},"alwaysLoad":true}}}'
exec "$CLAUDE" -p "\$(cat)" --mcp-config "\$config" --strict-mcp-config --allowedTools 'mcp__alice__*'
AGENT
cat > "$dir/bots.toml" <<TOML
[supervisor]
data_dir = "$dir/data"
admin_addr = "127.0.0.1:$admin"
base_port = $base

[bots.cc.agent]
command = ["sh", "$dir/agent.sh"]
env = { ANTHROPIC_BASE_URL = "http://127.0.0.1:$model", ANTHROPIC_API_KEY = "fake", HOME = "$dir/home", DISABLE_AUTOUPDATER = "1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1" }
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
offered = sorted({t for l in lines for t in l["tools"] if t.startswith("mcp__alice__")})
print("offered:", offered)
results = [b for l in lines for m in l["messages"] if isinstance(m["content"], list)
           for b in m["content"] if b.get("type") == "tool_result"]
print("tool results:", json.dumps(results))
sys.exit(0 if "mcp__alice__echo" in offered and results else 1)
PY
echo "$out" | grep -q "the tool said: echoed" && echo "OK: Claude Code listed and called the bot's tools"
