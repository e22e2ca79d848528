#!/bin/sh
# A stand-in for an LLM pursuing a goal. Goal iterations (their prompt has
# "[Goal goal_…, iteration N]") take the next line of `plan` in the workspace:
#   delay <duration> <reason…>   declare the delay
#   complete                     complete the goal
#   none                         declare nothing
#   fail                         exit 3
#   block <step…>                wait for a file `release`, then do <step…>
# Chat messages are answered "chat: <message>" ("hold" first waits for
# `release`, like `block`). Every run appends to `log`,
# and writes `overlap` there if another run of the conversation is running.
prompt=$(cat)
[ -e "busy-$ALICE_SESSION_KEY" ] && echo "overlap" >> log
touch "busy-$ALICE_SESSION_KEY"
case "$prompt" in
  *"[Goal goal_"*)
    n=$(printf '%s\n' "$prompt" | sed -n 's/.*\[Goal [^,]*, iteration \([0-9]*\)\].*/\1/p' | head -n 1)
    printf '%s\n' "$prompt" > "prompt-$n.txt"
    step=$(head -n 1 plan 2>/dev/null)
    sed -i '1d' plan 2>/dev/null
    echo "iteration $n start $step" >> log
    case "$step" in
      block*)
        echo $$ > blocked
        while [ ! -e release ]; do sleep 0.05; done
        rm -f release blocked
        step=${step#block }
        ;;
    esac
    set -- $step
    verb=$1
    [ $# -gt 0 ] && shift
    case "$verb" in
      delay) d=$1; shift; "$ALICE_RUNTIME_BIN" runtime goal delay "$d" "$*" > /dev/null || echo "delay refused" >> log ;;
      complete) "$ALICE_RUNTIME_BIN" runtime goal complete > /dev/null ;;
      fail) echo "iteration $n end" >> log; rm -f "busy-$ALICE_SESSION_KEY"; echo "boom" >&2; exit 3 ;;
    esac
    echo "iteration $n end" >> log
    echo "progress $n"
    ;;
  *)
    text=$(printf '%s\n' "$prompt" | tail -n 1)
    echo "chat start $text" >> log
    if [ "$text" = "hold" ]; then
      touch holding
      while [ ! -e release ]; do sleep 0.05; done
      rm -f release holding
    fi
    echo "chat end $text" >> log
    echo "chat: $text"
    ;;
esac
rm -f "busy-$ALICE_SESSION_KEY"
