#!/bin/sh
# A test agent that waits for the test: leaves its token in token-<run id>,
# says it is ready, then waits until a file `go` appears in the workspace.
prompt=$(cat)
printf '%s\n' "$ALICE_RUNTIME_API_TOKEN" > "token-$ALICE_RUN_ID"
echo "ready: $prompt"
while [ ! -e go ]; do sleep 0.05; done
echo "done"
