#!/bin/sh
# Sends a file to the current conversation: send_file.sh PATH [CAPTION] [NAME]
set -eu
if [ $# -lt 1 ]; then
  echo "usage: send_file.sh PATH [CAPTION] [DISPLAY-NAME]" >&2
  exit 2
fi
: "${ALICE_RUNTIME_BIN:?not inside an alice run (ALICE_RUNTIME_BIN is unset)}"
path=$1
caption=${2:-}
name=${3:-}
set --
if [ -n "$caption" ]; then set -- "$@" --caption "$caption"; fi
if [ -n "$name" ]; then set -- "$@" --filename "$name"; fi
exec "$ALICE_RUNTIME_BIN" runtime message file "$path" "$@"
