#!/bin/sh
# A test agent that lends the test its injected environment: writes its
# ALICE_* variables to env-<run id> (whole, then renamed), then waits until
# a file `go` appears in the workspace (its run token stays valid meanwhile).
cat > /dev/null
env | grep '^ALICE_' > "env-$ALICE_RUN_ID.part"
mv "env-$ALICE_RUN_ID.part" "env-$ALICE_RUN_ID"
while [ ! -e go ]; do sleep 0.05; done
echo "done"
