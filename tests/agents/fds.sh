#!/bin/sh
# A test agent that prints the descriptors it was started with, one a line
# (the inner shell has no script file open; `ls` runs as its child).
cat >/dev/null
exec sh -c 'ls /proc/$$/fd'
