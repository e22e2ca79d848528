#!/bin/sh
# Automation tasks of the current conversation:
#   tasks.sh list|get|create|update|delete ... | tasks.sh cancel TASK_ID
set -eu
: "${ALICE_RUNTIME_BIN:?not inside an alice run (ALICE_RUNTIME_BIN is unset)}"
if [ "${1:-}" = "cancel" ]; then
  if [ $# -ne 2 ]; then
    echo "usage: tasks.sh cancel TASK_ID" >&2
    exit 2
  fi
  exec "$ALICE_RUNTIME_BIN" runtime automation update "$2" --status cancelled
fi
exec "$ALICE_RUNTIME_BIN" runtime automation "$@"
