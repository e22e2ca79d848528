#!/bin/sh
# Test agent for the reply pipeline: records what it was given, then answers
# according to the message (the prompt's last line).
prompt=$(cat)
text=$(printf '%s\n' "$prompt" | tail -n 1)
id="$ALICE_SOURCE_MESSAGE_ID"
echo "start $id" >> "$CHAT_LOG"
env | grep '^ALICE_' | sort > "$CHAT_LOG.env.$id"
printf '%s\n' "$prompt" > "$CHAT_LOG.prompt.$id"
touch "$CHAT_LOG.started.$ALICE_RECEIVE_ID"
answer="answer: $text"
case "$text" in
  fail*) echo "end $id" >> "$CHAT_LOG"; echo "boom" >&2; exit 3 ;;
  slow*) sleep 0.3 ;;
  silent*) answer="NO_REPLY" ;;
  task*)
    # The bundled skill, as an LLM would call it, from this conversation.
    if sh skills/alice-automation/scripts/tasks.sh create --action send_text \
        --text "from the skill" --run-at 2999-01-01T00:00:00Z > "$CHAT_LOG.task.$id" 2>&1; then
      answer="created"
    else
      answer="refused: $(cat "$CHAT_LOG.task.$id")"
    fi ;;
  wait-for-*)
    other=${text#wait-for-}
    answer="alone"
    i=0
    while [ $i -lt 100 ]; do
      if [ -e "$CHAT_LOG.started.$other" ]; then answer="together"; break; fi
      sleep 0.1; i=$((i + 1))
    done ;;
esac
echo "end $id" >> "$CHAT_LOG"
echo "$answer"
