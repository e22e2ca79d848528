#!/usr/bin/env python3
"""The rows of BENCHMARKS.md, each beside its baseline in the same run, the
two taking turns (rounds) so that the load of a shared machine falls on both.
Called by scripts/bench/run, which installs wrk and builds the binaries.

    run.py --alice BIN --bare BIN [--quick] [--out BENCHMARKS.md] [--build-secs S]

Only loopback addresses are loaded; every load is bounded in time."""
import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

TOKEN = "bench-token-0123456789abcdef"
ADMIN = "bench-admin-0123456789abcdef"
TASKS = "/api/v1/automation/tasks"
NEVER = "0 0 1 1 *"  # a cron that is not due during a run
HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, token=TOKEN, headers=None, timeout=5):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def up(url):
    try:
        return http("GET", url, token=None, timeout=1)[0] == 200
    except OSError:
        return False


def wait_up(url, secs=60):
    deadline = time.time() + secs
    while time.time() < deadline:
        if up(url):
            return
        time.sleep(0.05)
    raise SystemExit(f"{url} never answered")


class Alice:
    """`alice serve` with `bots` local bots, ports from `base`."""

    def __init__(self, binary, bots=1, log="warn", extra="", limits="", env=None):
        self.dir = tempfile.mkdtemp(prefix="alice-bench-")
        self.admin = free_port()
        # Many bots: a block of ports below the ephemeral range (32768 on).
        self.base = free_port() if bots == 1 else 10000 + (os.getpid() % 20) * 1000
        conf = (f'[supervisor]\ndata_dir = "data"\nadmin_addr = "127.0.0.1:{self.admin}"\n'
                f'admin_token = "{ADMIN}"\nbase_port = {self.base}\n\n')
        for i in range(bots):
            conf += (f'[bots.b{i}]\nruntime_http_token = "{TOKEN}"\n{extra}'
                     f'[bots.b{i}.limits]\nrequests_per_minute = 100000000\nmax_connections = 4096\n{limits}'
                     f'[bots.b{i}.goal]\nenabled = false\n\n')
        with open(os.path.join(self.dir, "bots.toml"), "w") as f:
            f.write(conf)
        self.log = open(os.path.join(self.dir, "alice.log"), "w")
        self.binary, self.level, self.env = binary, log, env or {}
        self.spawn()
        self.bots = bots

    def spawn(self):
        self.started = time.time()
        self.proc = subprocess.Popen([self.binary, "serve", "--config", "bots.toml"], cwd=self.dir,
                                     env=dict(os.environ, RUST_LOG=self.level, **self.env), stdout=self.log,
                                     stderr=self.log)

    def again(self):
        """Stops alice (SIGTERM) and starts it again on the same data."""
        self.proc.terminate()
        self.proc.wait(60)
        self.spawn()

    def url(self, i=0):
        return f"http://127.0.0.1:{self.base + i}"

    def wait(self, secs=120):
        # Every bot polled at once (in turn, one poll at a time, the polls
        # themselves would take seconds for a thousand bots).
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda i: wait_up(self.url(i) + "/healthz", secs), range(self.bots)))
        return time.time() - self.started

    def cpu_secs(self):
        """User + system CPU time the process has used."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def proc_status(self):
        out = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.strip()
        return int(out["VmRSS"].split()[0]) / 1024, int(out["Threads"])

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Bare:
    def __init__(self, binary, health, task):
        self.dir = tempfile.mkdtemp(prefix="bare-bench-")
        hf, tf = os.path.join(self.dir, "health.json"), os.path.join(self.dir, "task.json")
        open(hf, "wb").write(health)
        open(tf, "wb").write(task)
        self.port = free_port()
        self.proc = subprocess.Popen([binary, str(self.port), hf, tf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_up(f"http://127.0.0.1:{self.port}/healthz")

    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def wrk(url, secs, conns=64, token=TOKEN, script=None, latency=False):
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{secs}s"]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    if script:
        cmd += ["-s", script]
    if latency:
        cmd += ["--latency"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=secs + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    lat = {}
    for p, v, unit in re.findall(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)$", out, re.M):
        lat[p] = float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    return {"rps": rps, "bad": int(bad.group(1)) if bad else 0,
            "errors": sum(map(int, errors.groups())) if errors else 0, "lat": lat, "out": out}


def create_task(base, n=0):
    status, body = http("POST", base + TASKS, {"title": f"bench {n}", "text": "hello", "cron": NEVER,
                                               "action": "send_text"},
                        headers={"X-Alice-Receive-Id": "oc_bench"})
    assert status == 201, (status, body)
    return json.loads(body)["id"]


def turns(rounds, sides):
    """Runs each side's load once per round, the sides taking turns; the
    median of each side."""
    got = {name: [] for name, _ in sides}
    for r in range(rounds):
        order = sides if r % 2 == 0 else list(reversed(sides))
        for name, load in order:
            got[name].append(load())
            print(f"  round {r + 1} {name}: {got[name][-1]:.0f}", file=sys.stderr)
    return {name: statistics.median(v) for name, v in got.items()}


ROWS = []


def row(name, value, baseline_name="", baseline=None, target="", note="", unit="req/s"):
    ratio = f"{value / baseline:.2f}×" if baseline else "—"
    digits = 2 if unit in ("s", "ms", "MiB", "KiB", "%") else 0

    def fmt(v):
        return f"{v:,.{digits}f} {unit}".strip() if isinstance(v, (int, float)) else str(v)

    ROWS.append((name, fmt(value), f"{baseline_name}: {fmt(baseline)}" if baseline is not None else baseline_name,
                 ratio, target, note))
    print(f"{name:<60} {fmt(value):>16} {ratio:>7}  {note}", flush=True)


def bench_http(o):
    """healthz and the authenticated GET against the bare handler; the GET
    with request logging at INFO against the same at WARN."""
    quiet = Alice(o.alice)
    loud = Alice(o.alice, log="info")
    quiet.wait()
    loud.wait()
    tid = create_task(quiet.url())
    lid = create_task(loud.url())
    health = http("GET", quiet.url() + "/healthz", token=None)[1]
    task = http("GET", f"{quiet.url()}{TASKS}/{tid}")[1]
    bare = Bare(o.bare, health, task)
    try:
        s, c = o.secs, 64
        m = turns(o.rounds, [("alice /healthz", lambda: wrk(quiet.url() + "/healthz", s, c, None)["rps"]),
                             ("bare /healthz", lambda: wrk(bare.url() + "/healthz", s, c, None)["rps"])])
        row("`GET /healthz`", m["alice /healthz"], "bare actix handler", m["bare /healthz"], "≥ 0.95×")
        get = f"{TASKS}/{tid}"
        m = turns(o.rounds, [("alice GET", lambda: wrk(quiet.url() + get, s, c)["rps"]),
                             ("bare GET", lambda: wrk(bare.url() + get, s, c, None)["rps"])])
        row("authenticated `GET /api/v1/automation/tasks/{id}`", m["alice GET"], "bare actix handler",
            m["bare GET"], "≥ 0.8×")
        m = turns(o.rounds, [("alice GET INFO", lambda: wrk(f"{loud.url()}{TASKS}/{lid}", s, c)["rps"]),
                             ("alice GET WARN", lambda: wrk(quiet.url() + get, s, c)["rps"])])
        row("authenticated `GET`, metrics + request log at INFO (to a file)", m["alice GET INFO"],
            "the same at WARN (metrics on)", m["alice GET WARN"], "≥ 0.9×",
            "metrics cannot be switched off: both sides count them")
        durable_creates(o, quiet)
        # Fixed 1 000 req/s, mixed: 70 % reads, 20 % patches, 10 % creates.
        ids = [create_task(quiet.url(), n) for n in range(20)]
        script = os.path.join(quiet.dir, "mixed.lua")
        conns = 50
        with open(script, "w") as f:
            f.write(f"local ids = {{{', '.join(repr(i) for i in ids)}}}\n"
                    'local hdr = {["Content-Type"] = "application/json", ["X-Alice-Receive-Id"] = "oc_bench",\n'
                    f'  ["Authorization"] = "Bearer {TOKEN}"}}\n'
                    "math.randomseed(7)\n"
                    "request = function()\n"
                    "  local r = math.random()\n"
                    "  local id = ids[math.random(#ids)]\n"
                    f'  if r < 0.7 then return wrk.format("GET", "{TASKS}/" .. id, hdr)\n'
                    f'  elseif r < 0.9 then return wrk.format("PATCH", "{TASKS}/" .. id, hdr, \'{{"text":"p"}}\')\n'
                    f'  else return wrk.format("POST", "{TASKS}", hdr, \'{{"title":"m","text":"hi","cron":"{NEVER}","action":"send_text"}}\')\n'
                    "  end\nend\n"
                    # conns connections, each waiting conns ms: 1 000 req/s in all.
                    f"delay = function() return {conns} end\n")
        r = wrk(quiet.url() + "/", max(s, 5), conns, token=None, script=script, latency=True)
        row("p50 / p99 at a fixed ~1 000 req/s (70 % GET, 20 % PATCH, 10 % POST)",
            f"{r['lat'].get('50', float('nan')):.2f} / {r['lat'].get('99', float('nan')):.2f} ms", "", None,
            "p99 < 5 ms", f"{r['rps']:.0f} req/s achieved, {r['bad']} non-2xx, {r['errors']} socket errors")
        mixed_by_kind(o, quiet, ids)
    finally:
        bare.stop()
        quiet.stop()
        loud.stop()


def mixed_by_kind(o, alice, ids):
    """The same mix and rate as two loads at once, reads (700 req/s) and
    writes (300 req/s, two PATCH to one POST), each with its own latency: a
    write waits for its flush (an fsync), a read should wait for nothing."""
    hdr = ('local hdr = {["Content-Type"] = "application/json", ["X-Alice-Receive-Id"] = "oc_bench",\n'
           f'  ["Authorization"] = "Bearer {TOKEN}"}}\n')
    ids_lua = f"local ids = {{{', '.join(repr(i) for i in ids)}}}\n"

    def script(name, body, conns, rate):
        path = os.path.join(alice.dir, name)
        with open(path, "w") as f:
            f.write(ids_lua + hdr + "math.randomseed(7)\nrequest = function()\n" + body + "end\n"
                    f"delay = function() return {1000 * conns / rate:.1f} end\n")
        return path

    loads = {
        "reads": (script("reads.lua", f'  return wrk.format("GET", "{TASKS}/" .. ids[math.random(#ids)], hdr)\n',
                         35, 700), 35),
        "writes": (script("writes.lua", '  if math.random() < 0.667 then\n'
                          f'    return wrk.format("PATCH", "{TASKS}/" .. ids[math.random(#ids)], hdr, \'{{"text":"p"}}\')\n'
                          f'  else return wrk.format("POST", "{TASKS}", hdr, \'{{"title":"m","text":"hi","cron":"{NEVER}",'
                          '"action":"send_text"}\') end\n', 15, 300), 15),
    }
    got = {}

    def run(kind):
        path, conns = loads[kind]
        got[kind] = wrk(alice.url() + "/", max(o.secs, 5), conns, token=None, script=path, latency=True)

    threads = [threading.Thread(target=run, args=(kind,)) for kind in loads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for kind, r in got.items():
        row(f"  … the same load in two: {kind}, p50 / p99",
            f"{r['lat'].get('50', float('nan')):.2f} / {r['lat'].get('99', float('nan')):.2f} ms", "", None,
            "p99 < 5 ms", f"{r['rps']:.0f} req/s achieved, {r['bad']} non-2xx, {r['errors']} socket errors")


def durable_creates(o, durable):
    """Creates, 64 clients, each flushed before it is answered, against the
    same server whose store skips the flush (the bench-only switch
    ALICE_BENCH_SKIP_FLUSH), taking turns."""
    fast = Alice(o.alice, env={"ALICE_BENCH_SKIP_FLUSH": "writes-may-be-lost"})
    try:
        fast.wait()
        script = os.path.join(durable.dir, "create.lua")
        with open(script, "w") as f:
            f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                    'wrk.headers["X-Alice-Receive-Id"] = "oc_bench"\n'
                    f'wrk.body = \'{{"title":"c","text":"hi","cron":"{NEVER}","action":"send_text"}}\'\n')
        bad = []

        def load(alice):
            r = wrk(alice.url() + TASKS, o.secs, 64, script=script)
            bad.append(r["bad"] + r["errors"])
            return r["rps"]

        m = turns(o.rounds, [("durable creates", lambda: load(durable)),
                             ("no-flush creates", lambda: load(fast))])
        row("durable creates, 64 clients", m["durable creates"], "no flush (`ALICE_BENCH_SKIP_FLUSH`)",
            m["no-flush creates"], "≥ 0.8×", f"{sum(bad)} non-2xx or socket errors")
    finally:
        fast.stop()


def bench_bots(o):
    """Start time, RSS and threads of N bots against one; a one-bot restart
    under load on the others."""
    one = Alice(o.alice)
    t1 = one.wait()
    time.sleep(1)
    rss1, th1 = one.proc_status()
    one.stop()
    many = Alice(o.alice, bots=o.bots)
    try:
        tn = many.wait()
        time.sleep(2)
        rssn, thn = many.proc_status()
        row(f"{o.bots} bots: start until every `/healthz` is 200", tn, "1 bot", t1, "< 5 s", unit="s")
        row(f"{o.bots} bots: RSS", rssn, "1 bot", rss1, "≤ 1 MiB per extra bot",
            f"{(rssn - rss1) / (o.bots - 1):.2f} MiB per extra bot", unit="MiB")
        row(f"{o.bots} bots: threads", thn, "1 bot", th1, "explained",
            f"{(thn - th1) / (o.bots - 1):.2f} threads per extra bot: each bot's actix server runs its own "
            "worker thread(s) (`workers`, default 1) and accept thread; the rest is shared", unit="threads")
        restart(o, many)
        # What an operator meets most: alice started again on its data.
        many.again()
        row(f"{o.bots} bots: start again on their data until every `/healthz` is 200", many.wait(), "", None,
            "< 5 s", "the first start (above) also creates every bot's trees and files", unit="s")
    finally:
        many.stop()


def restart(o, alice):
    """Restarts bot b0 through the admin API while wrk loads b1 and a poller
    measures b0's longest stretch without an answer."""
    admin = f"http://127.0.0.1:{alice.admin}"
    stop = threading.Event()
    gaps = []

    def poll():
        # The longest time between two answers: a refused poll and a poll
        # that waited (in the backlog of a restarting bot) both count.
        last_ok = time.time()
        while not stop.is_set():
            ok = up(alice.url(0) + "/healthz")
            now = time.time()
            if ok:
                gaps.append(now - last_ok)
                last_ok = now
            time.sleep(0.001)

    poller = threading.Thread(target=poll)
    poller.start()
    result = {}
    loader = threading.Thread(target=lambda: result.update(wrk(alice.url(1) + "/healthz", 6, 16, None)))
    loader.start()
    time.sleep(2)
    status, body = http("POST", f"{admin}/api/bots/b0/restart", token=ADMIN, timeout=30)
    loader.join()
    time.sleep(0.5)
    stop.set()
    poller.join()
    downtime = max(gaps) * 1000 if gaps else 0.0
    row(f"one-bot restart under load on the {o.bots - 1} others: its downtime", downtime, "", None,
        "< 100 ms", f"restart answered {status}; the longest time between two answers to a poll every ~1 ms "
        f"(new connection each; a slow answer counts as much as a refused one)",
        unit="ms")
    row("  … failed requests on another bot during it", r_fail(result), "", None, "0",
        f"{result.get('rps', 0):.0f} req/s on bot b1", unit="")


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def bench_cron(o):
    """`o.cron_tasks` active cron tasks (send_text on the local connector)
    across 10 bots, all due on the same minute, two minutes on: the CPU
    while they wait (nothing due), the RSS each adds, then how late that
    minute's firing starts each run (its start after its due time)."""
    bots = 10
    per_bot = o.cron_tasks // bots
    alice = Alice(o.alice, bots=bots, limits="list_max = 1000\n")
    try:
        alice.wait()
        time.sleep(3)
        rss0, _ = alice.proc_status()
        due = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=3)
        body = {"title": "cron", "text": "tick", "cron": f"{due.minute} * * * *", "action": "send_text"}

        def create(n):
            status, _ = http("POST", alice.url(n % bots) + TASKS, body,
                             headers={"X-Alice-Receive-Id": "oc_bench"}, timeout=60)
            return status == 201

        made = time.time()
        with ThreadPoolExecutor(32) as pool:
            created = sum(pool.map(create, range(per_bot * bots)))
        made = time.time() - made
        print(f"  created {created} tasks in {made:.1f} s", file=sys.stderr)
        time.sleep(5)
        rss1, _ = alice.proc_status()
        # Idle: every task active, none due until `due`.
        window = min(30.0, (due - datetime.now(timezone.utc)).total_seconds() - 3)
        c0, t0 = alice.cpu_secs(), time.time()
        time.sleep(max(window, 1))
        cpu = (alice.cpu_secs() - c0) / (time.time() - t0) * 100
        time.sleep(max(0.0, (due - datetime.now(timezone.utc)).total_seconds()) + 2)
        lateness, deadline = [], time.time() + 50
        while time.time() < deadline:
            lateness = []
            for b in range(bots):
                for offset in range(0, per_bot, 1000):
                    _, page = http("GET", f"{alice.url(b)}{TASKS}?limit=1000&offset={offset}", timeout=60)
                    for task in json.loads(page):
                        # After the run at `due` the next one is an hour on.
                        if task.get("last_run_at") and task.get("next_run_at") and \
                                parse_time(task["next_run_at"]) - timedelta(hours=1) == due:
                            lateness.append((parse_time(task["last_run_at"]) - due).total_seconds())
            if len(lateness) >= created:
                break
            time.sleep(1)
        lateness.sort()
        if lateness:
            p50 = lateness[len(lateness) // 2]
            p99 = lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))]
            value = f"{p50:.3f} / {p99:.3f} s"
        else:
            value = "no run seen"
        name = f"{o.cron_tasks:,} active cron tasks across {bots} bots"
        row(f"{name}: firing lateness p50 / p99", value, "", None, "p99 ≤ 1.1 s",
            f"{len(lateness)} of {created} tasks ran at {due.strftime('%H:%M')}, all due on that same second")
        row(f"{name}: CPU while nothing is due", cpu, "", None, "< 1 % of a core",
            f"over {window:.0f} s, % of one core", unit="%")
        row(f"{name}: RSS per task", (rss1 - rss0) * 1024 / max(created, 1), "", None, "reported",
            f"{rss0:.1f} MiB before the tasks, {rss1:.1f} MiB after ({created} created in {made:.0f} s)",
            unit="KiB")
    finally:
        alice.stop()

def r_fail(r):
    return r.get("bad", 0) + r.get("errors", 0)


def callgrind(o):
    """Instructions per request counted by callgrind (the figure a loaded
    machine cannot disturb): alice's authenticated GET against the bare one."""
    if not shutil.which("valgrind"):
        row("instructions per authenticated GET (callgrind)", "not measured", "", None, "", "valgrind missing")
        return
    out = subprocess.run([os.path.join(HERE, "profile.sh"), o.alice, str(o.profile_secs)],
                         capture_output=True, text=True, timeout=900).stdout
    alice = int(re.search(r"instructions_per_request (\d+)", out).group(1))
    out = subprocess.run([os.path.join(HERE, "profile.sh"), "--bare", o.bare, str(o.profile_secs)],
                         capture_output=True, text=True, timeout=900).stdout
    bare = int(re.search(r"instructions_per_request (\d+)", out).group(1))
    row("instructions per authenticated `GET /api/v1/automation/tasks/{id}` (callgrind, server only)",
        alice, "bare actix handler", bare, "", "lower is better: the ratio is a cost here", unit="instr")


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = open("/proc/loadavg").read().split()[:3]
    mem = int(open("/proc/meminfo").readline().split()[1]) // 1024 // 1024
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB, {platform.platform()}, load average {' '.join(load)} at the start"


def write(o, started, host):
    size = os.path.getsize(o.alice) / 1024 / 1024
    row("`alice` release binary size", size, "", None, "reported", unit="MiB")
    if o.build_secs:
        row("release build time (incremental: only what changed)", o.build_secs, "", None, "reported", unit="s")
    for name, why in o.not_measured:
        row(name, "not measured", "", None, "", why)
    lines = ["# Benchmarks", "",
             f"`scripts/bench/run{' --quick' if o.quick else ''}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, "
             f"{time.time() - started:.0f} s.", "", f"Machine: {host}.", "",
             f"Each row and its baseline ran in the same run, taking turns over {o.rounds} rounds of {o.secs} s "
             "(the median is shown); wrk, 1 thread, 64 connections unless the row says otherwise. "
             "Throughput on a shared 2-core machine moves with its load; the callgrind row counts "
             "instructions and does not.", "",
             "| row | value | baseline | ratio | target | note |", "| --- | --- | --- | --- | --- | --- |"]
    for r in ROWS:
        lines.append("| " + " | ".join(r) + " |")
    notes = os.path.join(HERE, "notes.md")
    if os.path.exists(notes):
        # What the figures do not say by themselves (profiles, limits).
        lines += ["", open(notes).read().rstrip()]
    with open(o.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"\nwrote {o.out}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alice", required=True)
    ap.add_argument("--bare", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="BENCHMARKS.md")
    ap.add_argument("--build-secs", type=float, default=0)
    ap.add_argument("--rows", default="http,bots,cron,callgrind",
                    help="which groups of rows to run (comma-separated)")
    ap.add_argument("--bots", type=int, help="bots in the `bots` rows (default 1000)")
    ap.add_argument("--cron-tasks", type=int, default=10000, help="tasks in the `cron` rows")
    o = ap.parse_args()
    bots = o.bots or 1000
    o.secs, o.rounds, o.bots, o.profile_secs = (3, 3, bots, 3) if o.quick else (8, 5, bots, 10)
    o.not_measured = [
        ("`cargo test` time", "not run by this script (its build competes with the servers)"),
    ]
    started, host = time.time(), machine()
    groups = {"http": bench_http, "bots": bench_bots, "cron": bench_cron, "callgrind": callgrind}
    for name in o.rows.split(","):
        groups[name](o)
    write(o, started, host)


if __name__ == "__main__":
    main()
