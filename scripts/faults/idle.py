#!/usr/bin/env python3
"""Hostile clients at scale: IDLE (default 5 000) connections that never
send a byte are opened to bot `alpha`; meanwhile a good client keeps
calling `alpha` and bot `beta`. Prints how many good requests each bot
answered and failed, and how long the slowest one took on `alpha`
(connections beyond `limits.max_connections` wait in the backlog until
the header timeout closes idle ones).

Standard library only. Usage: idle.py --bin target/debug/alice [--idle 5000]
"""

import argparse
import os
import resource
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from kill9 import Cut, free_port, request, start  # noqa: E402


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--idle", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--max-connections", type=int, default=None,
                    help="alpha's limits.max_connections (default: alice's)")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.idle + 1024)), hard))
    work = tempfile.mkdtemp(prefix="alice-idle-")
    alpha, beta, admin = free_port(), free_port(), free_port()
    config = os.path.join(work, "bots.toml")
    max_conn = "" if args.max_connections is None else f"max_connections = {args.max_connections}\n"
    with open(config, "w") as f:
        f.write(f"""[supervisor]
data_dir = "data"
admin_addr = "127.0.0.1:{admin}"

[bots.alpha]
runtime_http_addr = "127.0.0.1:{alpha}"
runtime_http_token = "kill9-token"
[bots.alpha.limits]
requests_per_minute = 1000000
{max_conn}
[bots.beta]
runtime_http_addr = "127.0.0.1:{beta}"
runtime_http_token = "kill9-token"
[bots.beta.limits]
requests_per_minute = 1000000
""")
    proc = start(args.bin, config, alpha)
    start_beta = time.time()
    while time.time() - start_beta < 30:
        try:
            if request(beta, "GET", "/healthz")[0] == 200:
                break
        except Cut:
            time.sleep(0.05)
    idle = []
    try:
        for _ in range(args.idle):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", alpha))
            except BlockingIOError:
                pass
            idle.append(s)
        print(f"{len(idle)} idle connections opened to alpha")
        rss_idle = rss_kib(proc.pid)
        counts = {}

        def probe(name, port):
            ok = failed = 0
            slowest = 0.0
            end = time.time() + args.seconds
            while time.time() < end:
                t0 = time.time()
                try:
                    good = request(port, "GET", "/api/v1/bot")[0] == 200
                except Cut:
                    good = False
                ok, failed = (ok + 1, failed) if good else (ok, failed + 1)
                slowest = max(slowest, time.time() - t0)
            counts[name] = (ok, failed, slowest)

        threads = [threading.Thread(target=probe, args=(n, p)) for n, p in (("alpha", alpha), ("beta", beta))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"alice RSS with the idle connections: {rss_idle} KiB")
        for name, (ok, failed, slowest) in sorted(counts.items()):
            print(f"{name}: {ok} served, {failed} failed, slowest {slowest:.2f} s")
    finally:
        for s in idle:
            s.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
