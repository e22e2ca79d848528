#!/bin/sh
# Alice's name for this skill's script (agents prompted with Alice's SKILL.md call it):
#   alice-message.sh image --path P | --image-key K   |   file --path P [--file-name N] | --file-key K
set -eu
: "${ALICE_RUNTIME_BIN:?not inside an alice run (ALICE_RUNTIME_BIN is unset)}"
exec "$ALICE_RUNTIME_BIN" runtime message "$@"
