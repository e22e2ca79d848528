#!/bin/sh
# Alice's name for goal.sh: alice-goal.sh create '{"objective":…,"deadline_in":"48h"}' | delay 12m "why" | clear | …
set -eu
: "${ALICE_RUNTIME_BIN:?not inside an alice run (ALICE_RUNTIME_BIN is unset)}"
exec "$ALICE_RUNTIME_BIN" runtime goal "$@"
