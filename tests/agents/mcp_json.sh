#!/bin/sh
# A test agent that keeps the .mcp.json it sees and its token, says it is
# ready, then waits until a file `go` appears in the workspace.
cat > /dev/null
cp .mcp.json "seen-mcp-$ALICE_RUN_ID.json"
printf '%s\n' "$ALICE_RUNTIME_API_TOKEN" > "token-$ALICE_RUN_ID"
echo "ready"
while [ ! -e go ]; do sleep 0.05; done
echo "done"
