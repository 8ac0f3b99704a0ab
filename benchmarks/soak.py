"""Soak: 10,000 trivial jobs back to back with monitors attached; RSS, file descriptors and
threads of the IOC (and of its job launcher) over time. Flat is a pass.

    .venv/bin/python -m benchmarks.soak                 # 10,000 jobs (about half an hour)
    .venv/bin/python -m benchmarks.soak --jobs 500      # a short check

Jobs are added in batches while the queue runs (QUEUE:WHEN_EMPTY KEEP_RUNNING), so the
queue stays short and the run measures the jobs, not one huge queue. Monitors watch the
PVs a display would: STATE, JOB:ID, JOB:PROGRESS, QUEUE, QUEUE:LEN, HISTORY, JOB:ELAPSED.
The first tenth of the run warms up (caches, history filling to history_length); the
verdict compares the end with the sample taken after it.
"""
from __future__ import annotations

import argparse
import json
import os
import time

from .harness import (ScriptServerIOC, Watch, children, connect, memory_mb, stop_all, use_ports,
                      workdir)

BATCH = 50
HISTORY = 200              # history_length of the soak IOC
JOB = {"command": "wait", "args": {"seconds": 0}, "name": "soak"}
RSS_SLACK_MB = 10.0        # allowed RSS growth after warm-up
COUNT_SLACK = 2            # allowed growth of descriptors and threads after warm-up


def sample(pid: int) -> tuple[float, int, int]:
    """(RSS in MB, open file descriptors, threads) of one process."""
    with open(f"/proc/{pid}/status") as f:
        threads = next(int(line.split()[1]) for line in f if line.startswith("Threads:"))
    return memory_mb(pid), len(os.listdir(f"/proc/{pid}/fd")), threads


def run(total: int, rows: int) -> bool:
    use_ports(1)
    with workdir() as root_name:
        from pathlib import Path
        ioc = ScriptServerIOC(Path(root_name), preload=[], history_length=HISTORY,
                              access={"login": False}).start()    # loopback manages
        try:
            return soak(ioc, total, rows)
        finally:
            stop_all()


def soak(ioc: ScriptServerIOC, total: int, rows: int) -> bool:
    watches = [Watch(ioc.pv(name), values=False) for name in
               ("STATE", "JOB:ID", "JOB:PROGRESS", "QUEUE", "QUEUE:LEN", "HISTORY",
                "JOB:ELAPSED")]
    add, length = connect(ioc.pv("QUEUE:ADD")), connect(ioc.pv("QUEUE:LEN"))
    ids, error = connect(ioc.pv("QUEUE:ADD:IDS")), connect(ioc.pv("ERROR"))
    connect(ioc.pv("QUEUE:WHEN_EMPTY")).put("KEEP_RUNNING", wait=True)
    connect(ioc.pv("QUEUE:MODE")).put("CONTINUE_ON_FAILURE", wait=True)   # counted, not fatal
    connect(ioc.pv("QUEUE:START")).put(1, wait=True)
    launcher = children(ioc.pid)[0]
    every = max(1, total // rows)
    header()
    table: list[tuple] = []
    added, started = 0, time.monotonic()
    next_sample = 0
    while True:
        queued = length.get(use_monitor=False)
        done = added - queued
        if done >= next_sample:
            table.append((done, time.monotonic() - started, *sample(ioc.pid), *sample(launcher)))
            row(*table[-1])
            next_sample += every
        if added >= total and queued == 0:
            break
        if added < total and queued < BATCH:
            count = min(BATCH, total - added)
            before = ids.get(use_monitor=False)
            add.put(json.dumps({"jobs": [JOB] * count}), wait=True, timeout=30)
            if list(ids.get(use_monitor=False)) == list(before):    # pyepics hides refusals
                raise RuntimeError(f"an add was refused: {error.get(as_string=True)}")
            added += count
        else:
            time.sleep(0.05)
    time.sleep(1.0)                 # the last job's end is published
    table.append((total, time.monotonic() - started, *sample(ioc.pid), *sample(launcher)))
    row(*table[-1])
    updates = sum(len(w.events) for w in watches)
    failed = sum(1 for run in json.loads(connect(ioc.pv("HISTORY")).get(as_string=True) or "[]")
                 if run.get("status") == "failed")
    print(f"failed jobs among the last {HISTORY} in history: {failed}")
    for watch in watches:
        watch.close()
    return report(table, total, updates)


def header() -> None:
    print(f"{'jobs done':>9} {'s':>7} {'IOC RSS MB':>10} {'fds':>5} {'threads':>7}  "
          f"{'launcher RSS MB':>15} {'fds':>5} {'threads':>7}", flush=True)


def row(done: int, seconds: float, rss: float, fds: int, threads: int, l_rss: float,
        l_fds: int, l_threads: int) -> None:
    """One sample, printed as it is taken (a long run shows its progress)."""
    print(f"{done:>9} {seconds:>7.1f} {rss:>10.1f} {fds:>5} {threads:>7}  "
          f"{l_rss:>15.1f} {l_fds:>5} {l_threads:>7}", flush=True)


def report(table: list[tuple], total: int, updates: int) -> bool:
    warm = table[max(1, len(table) // 10)]
    last = table[-1]
    growth = {"IOC RSS": (last[2] - warm[2], RSS_SLACK_MB), "IOC fds": (last[3] - warm[3],
              COUNT_SLACK), "IOC threads": (last[4] - warm[4], COUNT_SLACK),
              "launcher fds": (last[6] - warm[6], COUNT_SLACK),
              "launcher threads": (last[7] - warm[7], COUNT_SLACK)}
    flat = all(change <= slack for change, slack in growth.values())
    rate = total / last[1]
    print(f"\n{total} jobs in {last[1]:.0f} s ({rate:.1f} jobs/s); {updates} monitor updates "
          f"seen; growth after warm-up (at {warm[0]} jobs): " + ", ".join(
              f"{name} {change:+.1f} (allowed {slack:g})" for name, (change, slack)
              in growth.items()))
    print("PASS: flat" if flat else "MISS: something grows")
    return flat


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs to run (10,000)")
    parser.add_argument("--rows", type=int, default=20, help="samples in the table")
    args = parser.parse_args()
    raise SystemExit(0 if run(args.jobs, args.rows) else 1)


if __name__ == "__main__":
    main()
