#!/bin/sh
# A test agent: three lines of output, the goal it was told, its prompt.
cat > prompt.txt
printf '%s' "${ALICE_GOAL:-}" > goal.txt
echo one
echo two
echo three
