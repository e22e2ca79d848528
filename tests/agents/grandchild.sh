#!/bin/sh
# A test agent whose grandchild ignores SIGTERM: only a SIGKILL of the whole
# process group ends it. The grandchild's pid goes to grandchild.pid.
cat > /dev/null
sh -c 'trap "" TERM; exec sleep 300' &
echo $! > grandchild.pid
echo "started"
wait
