#!/bin/sh
# Sends an image to the current conversation: send_image.sh PATH [CAPTION]
set -eu
if [ $# -lt 1 ]; then
  echo "usage: send_image.sh PATH [CAPTION]" >&2
  exit 2
fi
: "${ALICE_RUNTIME_BIN:?not inside an alice run (ALICE_RUNTIME_BIN is unset)}"
if [ $# -ge 2 ]; then
  exec "$ALICE_RUNTIME_BIN" runtime message image "$1" --caption "$2"
fi
exec "$ALICE_RUNTIME_BIN" runtime message image "$1"
