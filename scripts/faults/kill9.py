#!/usr/bin/env python3
"""kill -9 under load: writers create, patch and delete tasks and set goals
over HTTP while `alice serve` is killed -9 at a random moment; after each
restart every acknowledged write must be there exactly as acknowledged, and
a write cut off by the kill must be there wholly or not at all.

Standard library only. Usage:
  kill9.py --bin target/debug/alice [--cycles 20] [--writers 4] [--seed N]
Prints one line per cycle: acknowledged writes vs found; exits 1 on a loss.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TOKEN = "kill9-token"
TASKS = "/api/v1/automation/tasks"
CRON = "0 0 1 1 *"  # never due during a run
GONE = "gone"


class Cut(Exception):
    """The request got no answer (the server died under it)."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    hdrs = {"Authorization": f"Bearer {TOKEN}"}
    hdrs.update(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=hdrs)
        res = conn.getresponse()
        raw = res.read()
    except (OSError, http.client.HTTPException) as e:
        raise Cut(str(e))
    finally:
        conn.close()
    return res.status, (json.loads(raw) if raw else None)


class Model:
    """What the writers were told. Per task id: its acknowledged state and,
    if a write on it was cut off, the state that write would have made.
    Creates that were cut off are known by their unique title."""

    def __init__(self):
        self.lock = threading.Lock()
        self.tasks = {}  # id -> {"acked": state, "pending": state | None}
        self.cut_creates = {}  # title -> state
        self.goals = {}  # conversation -> {"acked": desc | None, "pending": [desc | None]}
        self.acked = 0  # acknowledged writes this cycle
        self.cut = 0  # writes cut off by the kill this cycle


def task_state(task):
    return {"title": task["title"], "text": task["text"], "cron": task["cron"]}


def writer(port, model, conv, stop, rng, counter):
    """Writes until the server dies under one of its requests."""
    headers = {"X-Alice-Receive-Id": conv}
    goal_headers = {"X-Alice-Session-Key": f"chat_id:{conv}|scene:chat"}
    mine = [tid for tid, t in model.tasks.items() if t["conv"] == conv and t["acked"] != GONE]
    while not stop.is_set():
        op = rng.random()
        n = next(counter)
        try:
            if op < 0.45 or not mine:
                state = {"title": f"{conv}-{n}", "text": f"text {n}", "cron": CRON}
                body = dict(state, action="send_text")
                try:
                    status, task = request(port, "POST", TASKS, body, headers)
                except Cut:
                    with model.lock:
                        model.cut_creates[state["title"]] = state
                        model.cut += 1
                    return
                assert status == 201, (status, task)
                with model.lock:
                    model.tasks[task["id"]] = {"conv": conv, "acked": task_state(task), "pending": None}
                    model.acked += 1
                mine.append(task["id"])
            elif op < 0.75:
                tid = rng.choice(mine)
                with model.lock:
                    new = dict(model.tasks[tid]["acked"], text=f"patched {n}", title=f"{conv}-{n}p")
                    model.tasks[tid]["pending"] = new
                try:
                    status, task = request(port, "PATCH", f"{TASKS}/{tid}",
                                           {"text": new["text"], "title": new["title"]}, headers)
                except Cut:
                    with model.lock:
                        model.cut += 1
                    return
                assert status == 200, (status, task)
                with model.lock:
                    model.tasks[tid] = {"conv": conv, "acked": task_state(task), "pending": None}
                    model.acked += 1
            elif op < 0.9:
                tid = mine.pop(rng.randrange(len(mine)))
                with model.lock:
                    model.tasks[tid]["pending"] = GONE
                try:
                    status, _ = request(port, "DELETE", f"{TASKS}/{tid}", None, headers)
                except Cut:
                    with model.lock:
                        model.cut += 1
                    return
                assert status == 204, status
                with model.lock:
                    model.tasks[tid] = {"conv": conv, "acked": GONE, "pending": None}
                    model.acked += 1
            else:
                with model.lock:
                    goal = model.goals.setdefault(conv, {"acked": None, "pending": []})
                    goal["pending"] = [None]
                try:
                    status, _ = request(port, "DELETE", "/api/v1/goal", None, goal_headers)
                except Cut:
                    with model.lock:
                        model.cut += 1
                    return
                assert status == 204, status
                desc = f"goal {n}"
                with model.lock:
                    goal["acked"] = None
                    model.acked += 1
                    goal["pending"] = [desc]
                try:
                    status, body = request(port, "POST", "/api/v1/goal",
                                           {"description": desc}, goal_headers)
                except Cut:
                    with model.lock:
                        model.cut += 1
                    return
                assert status == 201, (status, body)
                with model.lock:
                    goal["acked"], goal["pending"] = body["description"], []
                    model.acked += 1
        except AssertionError as e:
            print(f"unexpected answer: {e}", file=sys.stderr)
            sys.exit(2)


def all_tasks(port):
    found, offset = {}, 0
    while True:
        status, page = request(port, "GET", f"{TASKS}?status=all&limit=200&offset={offset}")
        assert status == 200, (status, page)
        for task in page:
            found[task["id"]] = task_state(task)
        if len(page) < 200:
            return found
        offset += 200


def check(port, model, convs):
    """(acknowledged, found, problems): every acknowledged state is there
    exactly; a cut-off write is there wholly or not at all."""
    listed = all_tasks(port)
    acked, found, problems = 0, 0, []
    for tid, t in model.tasks.items():
        have = listed.get(tid, GONE)
        allowed = [t["acked"]] + ([t["pending"]] if t["pending"] is not None else [])
        acked += 1
        if have in allowed:
            found += 1
            t["acked"], t["pending"] = have, None
        else:
            problems.append(f"task {tid}: found {have}, acknowledged {allowed}")
    by_title = {s["title"]: tid for tid, s in listed.items()}
    for title, state in model.cut_creates.items():
        tid = by_title.get(title)
        if tid is None:
            continue
        if listed[tid] != state:
            problems.append(f"cut-off create {title} half there: {listed[tid]}")
        else:
            model.tasks[tid] = {"conv": title.rsplit("-", 1)[0], "acked": state, "pending": None}
    model.cut_creates.clear()
    for tid in listed:
        if tid not in model.tasks:
            problems.append(f"task {tid} was never written: {listed[tid]}")
    for conv in convs:
        goal = model.goals.get(conv)
        if goal is None:
            continue
        status, body = request(port, "GET", "/api/v1/goal", None,
                               {"X-Alice-Session-Key": f"chat_id:{conv}|scene:chat"})
        have = body["description"] if status == 200 else None
        allowed = [goal["acked"]] + goal["pending"]
        acked += 1
        if have in allowed:
            found += 1
            goal["acked"], goal["pending"] = have, []
        else:
            problems.append(f"goal of {conv}: found {have!r}, acknowledged {allowed}")
    return acked, found, problems


def start(binary, config, port):
    log = open(os.path.join(os.path.dirname(config), "serve.log"), "ab")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALICE_")}
    proc = subprocess.Popen([binary, "serve", "--config", config],
                            stdout=subprocess.DEVNULL, stderr=log, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"alice exited with {proc.returncode} at start; see {log.name}")
        try:
            if request(port, "GET", "/healthz")[0] == 200:
                return proc
        except Cut:
            pass
        time.sleep(0.05)
    proc.kill()
    sys.exit("alice did not become healthy within 60 s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"kill -9 under load: {args.cycles} cycles, {args.writers} writers, seed {seed}")
    work = tempfile.mkdtemp(prefix="alice-kill9-")
    port, admin = free_port(), free_port()
    config = os.path.join(work, "bots.toml")
    with open(config, "w") as f:
        f.write(f"""[supervisor]
data_dir = "data"
admin_addr = "127.0.0.1:{admin}"

[bots.alpha]
runtime_http_addr = "127.0.0.1:{port}"
runtime_http_token = "{TOKEN}"

[bots.alpha.limits]
requests_per_minute = 1000000

[bots.alpha.goal]
enabled = false
""")
    model = Model()
    convs = [f"oc_w{i}" for i in range(args.writers)]
    counter = iter(range(1 << 62))
    lost = 0
    try:
        for cycle in range(1, args.cycles + 1):
            proc = start(args.bin, config, port)
            model.acked, model.cut = 0, 0
            stop = threading.Event()
            threads = [threading.Thread(target=writer, daemon=True,
                                        args=(port, model, c, stop, random.Random(rng.random()), counter))
                       for c in convs]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.3, 2.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            stop.set()
            for t in threads:
                t.join(timeout=60)
            written, cut = model.acked, model.cut
            proc = start(args.bin, config, port)
            acked, found, problems = check(port, model, convs)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            lost += len(problems)
            print(f"cycle {cycle:2}: {written} writes acknowledged, {cut} cut off by the kill; "
                  f"acknowledged states {acked}, found {found}"
                  + ("" if not problems else f", PROBLEMS {len(problems)}"), flush=True)
            for p in problems[:10]:
                print(f"  {p}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if lost:
        sys.exit(f"{lost} acknowledged writes not found as acknowledged")
    print("every acknowledged write was found as acknowledged")


if __name__ == "__main__":
    main()
