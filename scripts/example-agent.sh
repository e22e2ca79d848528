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
#   /goal OBJECTIVE    a goal: alice then runs this agent again on its own
#                      (iterations); it reports progress, declares a delay,
#                      and completes the goal after three rounds
#   anything else      echoed back
set -u
prompt=$(cat)
message=$(printf '%s\n' "$prompt" | tail -n 1)
alice="${ALICE_RUNTIME_BIN:-alice}"

# A goal iteration: the prompt says which one and what the objective is.
iteration=$(printf '%s\n' "$prompt" | sed -n 's/^\[Goal goal_[^,]*, iteration \([0-9]*\)\]$/\1/p' | head -n 1)
if [ -n "$iteration" ]; then
  objective=$(printf '%s\n' "$prompt" | sed -n 's/^Objective: //p' | head -n 1)
  case "$prompt" in
    *"Time is up"*)
      echo "Time is up for \"$objective\": I did $((iteration - 1)) rounds; please check what is left."
      ;;
    *)
      if [ "$iteration" -ge 3 ]; then
        "$alice" runtime goal complete >/dev/null
        echo "Round $iteration: \"$objective\" is done. Goal complete."
      else
        echo "Round $iteration: working on \"$objective\" ($iteration of 3)."
        "$alice" runtime goal delay 5s "next round" >/dev/null 2>&1 ||
          "$alice" runtime goal delay 1m "next round" >/dev/null
      fi
      ;;
  esac
  exit 0
fi

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
  /goal\ *)
    objective=${message#/goal }
    if "$alice" runtime goal create "$objective" >/dev/null; then
      echo "Goal set: $objective. I will work on it on my own and report back."
    else
      echo "I could not set the goal (is another one unfinished?)."
    fi
    ;;
  /whoami*)
    echo "Conversation ${ALICE_RECEIVE_ID:-?} (${ALICE_CHAT_TYPE:-?}), session ${ALICE_SESSION_KEY:-?}."
    ;;
  *)
    echo "You said: $message"
    ;;
esac
