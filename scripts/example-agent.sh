#!/bin/sh
# The example agent of the shipped bots.toml: a plain script standing in for
# an LLM CLI. It reads the prompt on stdin (the new message is its last line)
# and answers on stdout. Skills reach the bot through `alice runtime`, which
# finds the bot and the conversation in the ALICE_* environment.
#
#   /time              the time, from the bot's host
#   /remind 10s TEXT   an automation task that sends TEXT here in 10 seconds
#   /image             a small generated picture, sent to this conversation
#   /whoami            the conversation as the bot sees it
#   anything else      echoed back
set -u
message=$(tail -n 1)
alice="${ALICE_RUNTIME_BIN:-alice}"

case "$message" in
  /time*)
    echo "It is $(date -u '+%Y-%m-%d %H:%M:%S') UTC."
    ;;
  /remind\ *)
    set -- $message
    delay=${2:-}
    shift 2 2>/dev/null || true
    text="$*"
    case "$delay" in
      *s) secs=${delay%s} ;;
      *m) secs=$(( ${delay%m} * 60 )) ;;
      *) secs="" ;;
    esac
    if [ -z "$secs" ] || [ -z "$text" ]; then
      echo "Usage: /remind 10s text (or 5m)"
      exit 0
    fi
    at=$(date -u -d "+${secs} seconds" '+%Y-%m-%dT%H:%M:%SZ')
    if "$alice" runtime automation create --scope-type chat --scope-id "$ALICE_RECEIVE_ID" \
         --action send_text --text "Reminder: $text" --run-at "$at" >/dev/null; then
      echo "OK, I will remind you at $at."
    else
      echo "I could not create the reminder."
    fi
    ;;
  /image*)
    dir=$(mktemp -d)
    file="$dir/picture.png"
    # A 1x1 PNG, generated here so the example needs no network.
    printf '%s' 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==' | base64 -d > "$file"
    if "$alice" runtime message image "$file" --caption "A picture, as asked." >/dev/null; then
      echo "Sent you a picture."
    else
      echo "I could not send the picture."
    fi
    rm -rf "$dir"
    ;;
  /whoami*)
    echo "Conversation ${ALICE_RECEIVE_ID:-?} (${ALICE_CHAT_TYPE:-?}), session ${ALICE_SESSION_KEY:-?}."
    ;;
  *)
    echo "You said: $message"
    ;;
esac
