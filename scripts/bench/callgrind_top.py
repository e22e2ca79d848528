#!/usr/bin/env python3
"""Top functions of a callgrind dump by self and inclusive instructions.

    callgrind_top.py CALLGRIND_OUT [N] [REQUESTS]

Reads dumps written with --compress-strings=no (scripts/bench/profile.sh);
with REQUESTS, also prints instructions per request. (callgrind_annotate of
Debian 12 folds Rust's threads into `clone`, hence this.)"""
import re
import sys
from collections import defaultdict

path = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 25
reqs = int(sys.argv[3]) if len(sys.argv) > 3 else 0
self_cost = defaultdict(int)
calls_out = defaultdict(int)
fn = None
after_calls = False
total = 0
for line in open(path, errors="replace"):
    if line.startswith("fn="):
        fn = line[3:].strip()
        continue
    if line.startswith("calls="):
        after_calls = True
        continue
    if line.startswith("summary:"):
        total = int(line.split()[1])
    if line[:1].isdigit() or line[:1] in "+-*":
        parts = line.split()
        if len(parts) >= 2 and fn is not None:
            cost = int(parts[1])
            if after_calls:
                calls_out[fn] += cost
            else:
                self_cost[fn] += cost
        after_calls = False
        continue

def short(name):
    name = re.sub(r"<[^<>]*>", "<…>", name)
    return name[:150]

print(f"total {total:,} instructions" + (f", {total // reqs:,} per request" if reqs else ""))
print(f"\n{'self':>14} {'%':>6}  function")
for f, c in sorted(self_cost.items(), key=lambda kv: -kv[1])[:n]:
    print(f"{c:>14,} {100 * c / max(total, 1):>5.1f}%  {short(f)}")
print(f"\n{'inclusive':>14} {'%':>6}  function")
incl = {f: self_cost[f] + calls_out[f] for f in set(self_cost) | set(calls_out)}
for f, c in sorted(incl.items(), key=lambda kv: -kv[1])[:n]:
    print(f"{c:>14,} {100 * c / max(total, 1):>5.1f}%  {short(f)}")
