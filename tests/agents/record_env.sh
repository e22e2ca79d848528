#!/bin/sh
# A test agent: records its ALICE_* environment, then checks that its token
# reaches its own bot and fails on the other (whose URL is the prompt).
other=$(cat)
env | grep '^ALICE_' | sort > env.txt
"$ALICE_RUNTIME_BIN" runtime bot > own.json 2> own.err
echo "own=$?"
ALICE_RUNTIME_API_BASE_URL="$other" "$ALICE_RUNTIME_BIN" runtime bot > other.json 2> other.err
echo "other=$?"
