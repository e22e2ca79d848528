#!/bin/sh
# Alice's name for the automation skill (agents prompted with Alice's SKILL.md call it):
#   alice-scheduler.sh list|get ID|create JSON|patch ID JSON|delete ID
set -eu
: "${ALICE_RUNTIME_BIN:?not inside an alice run (ALICE_RUNTIME_BIN is unset)}"
exec "$ALICE_RUNTIME_BIN" runtime automation "$@"
