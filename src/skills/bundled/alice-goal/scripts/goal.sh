#!/bin/sh
# The goal of the current conversation: goal.sh get|list|create TEXT [--deadline-in 48h]|delay DURATION REASON|pause|resume|complete|delete
set -eu
: "${ALICE_RUNTIME_BIN:?not inside an alice run (ALICE_RUNTIME_BIN is unset)}"
exec "$ALICE_RUNTIME_BIN" runtime goal "$@"
