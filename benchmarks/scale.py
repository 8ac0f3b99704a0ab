"""Scale: a 10,000-job queue.

- adding it as one batch: one put with callback to ``QUEUE:ADD`` (about 0.5 MB of
  JSON), through caproto's threading client, which sends a numpy array as it is
  (pyepics turns a string into a list of ints in Python first: client cost, not ours);
- one move, edit or remove in it: a pyepics put with callback, timed to completion;
- the queue PVs' update: from before the put until a monitor shows it (``QUEUE``, the
  whole queue as JSON, after a move; ``QUEUE:LEN`` after a remove);
- the IOC's memory with the queue loaded: VmRSS and VmHWM (peak) from /proc.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from .harness import ScriptServerIOC, Watch, connect, text
from .report import Row, samples, single

SIZE = 10_000
JOB = {"command": "wait", "args": {"seconds": 1.0}}
EDITED = {"command": "wait", "args": {"seconds": 2.0}}


def add_batches(ioc: ScriptServerIOC, repeats: int, clear_first: bool = False) -> list[float]:
    from caproto import ChannelType
    from caproto.threading.client import Context

    context = Context()
    try:
        add, clear = context.get_pvs(ioc.pv("QUEUE:ADD"), ioc.pv("QUEUE:CLEAR"), timeout=10)
        add.wait_for_connection(timeout=10)
        clear.wait_for_connection(timeout=10)
        batch = text(json.dumps({"jobs": [JOB] * SIZE}))
        out = []
        for i in range(repeats):
            if i or clear_first:
                clear.write([1], wait=True, timeout=60)
            t0 = time.monotonic()
            add.write(batch, wait=True, timeout=120, data_type=ChannelType.CHAR)
            out.append(time.monotonic() - t0)
        return out
    finally:
        context.disconnect()


def edits(ioc: ScriptServerIOC, count: int, size: int, watch_queue: bool,
          first: int) -> dict[str, list[float]]:
    """``count`` rounds of move, edit and remove in the middle of the queue, each put timed
    to completion; then what a GUI sees: QUEUE:CHANGE (the small change PV) for a move,
    QUEUE:LEN for a remove, and with ``watch_queue`` the whole QUEUE (JSON) for a move."""
    ids = [int(i) for i in connect(ioc.pv("QUEUE:IDS")).get(use_monitor=False, timeout=30)]
    if len(ids) != size:
        raise RuntimeError(f"expected {size} ids in QUEUE:IDS, got {len(ids)}")
    queue = Watch(ioc.pv("QUEUE"), values=False) if watch_queue else None
    change = Watch(ioc.pv("QUEUE:CHANGE"), as_string=True)
    length = Watch(ioc.pv("QUEUE:LEN"))
    pvs = {name: connect(ioc.pv(name)) for name in ("QUEUE:MOVE", "QUEUE:EDIT", "QUEUE:REMOVE")}
    times: dict[str, list[float]] = {k: [] for k in ("move", "edit", "remove", "queue",
                                                      "change", "len")}
    middle = ids[size // 2 + first: size // 2 + first + count]
    for step, job_id in enumerate(middle):
        for kind, pv, request in (
                ("move", "QUEUE:MOVE", {"id": job_id, "pos": 0}),
                ("edit", "QUEUE:EDIT", {"id": job_id, "job": EDITED}),
                ("remove", "QUEUE:REMOVE", [job_id])):
            t0 = time.monotonic()
            pvs[pv].put(json.dumps(request), wait=True, timeout=30)
            times[kind].append(time.monotonic() - t0)
            if kind == "move":
                times["change"].append(change.wait(
                    lambda v: bool(v) and json.loads(v).get("op") == "move"
                    and json.loads(v).get("ids") == [job_id], after=t0, timeout=30)[0] - t0)
                if queue is not None:
                    times["queue"].append(queue.wait(lambda v: True, after=t0, timeout=30)[0]
                                          - t0)
            if kind == "edit":          # its command's estimate follows (a process of its
                change.wait(lambda v: bool(v) and json.loads(v).get("op") == "estimate"
                            and job_id in json.loads(v).get("ids", []), after=t0, timeout=30)
            if kind == "remove":        # own): the removal is timed after it, not with it
                times["len"].append(length.wait_value(size - step - 1, after=t0, timeout=30)
                                    - t0)
    for watch in (queue, change, length):
        if watch is not None:
            watch.close()
    return times


def estimation(ioc: ScriptServerIOC, repeats: int) -> list[float]:
    """From a 10,000-job add until every job has its command's estimate: QUEUE:ETA:UNKNOWN
    shows the jobs first (history knows none of them), then 0."""
    clear = connect(ioc.pv("QUEUE:CLEAR"))
    unknown = Watch(ioc.pv("QUEUE:ETA:UNKNOWN"))
    out = []
    for _ in range(repeats):
        clear.put(1, wait=True, timeout=60)
        t0 = time.monotonic()
        added = t0 + add_batches(ioc, 1)[0]       # the put has completed: queued, stored
        shown, _ = unknown.wait(lambda v: v == SIZE, after=t0, timeout=60)
        out.append(unknown.wait_value(0, after=shown, timeout=60) - added)
    unknown.close()
    return out


def reads(ioc: ScriptServerIOC, count: int) -> list[float]:
    """caget of QUEUE:LEN (a small status PV) while the queue is large: still responsive?"""
    pv = connect(ioc.pv("QUEUE:LEN"))
    out = []
    for _ in range(count):
        t0 = time.monotonic()
        pv.get(use_monitor=False, timeout=10)
        out.append(time.monotonic() - t0)
    return out


def measure(root: Path, quick: bool) -> list[Row]:
    repeats, count, big = (2, 5, 100_000) if quick else (4, 20, 100_000)
    ioc = ScriptServerIOC(root).start()
    empty = ioc.memory_mb("VmRSS")
    added = add_batches(ioc, 1)
    rss = ioc.memory_mb("VmRSS")                # the first 10,000: no memory freed before
    added += add_batches(ioc, repeats, clear_first=True)
    estimated = estimation(ioc, repeats)
    quiet = edits(ioc, count, SIZE, watch_queue=False, first=0)
    watched = edits(ioc, count, SIZE - count, watch_queue=True, first=count)
    rss_after, peak = ioc.memory_mb("VmRSS"), ioc.memory_mb("VmHWM")
    rows = [
        samples(f"add {SIZE:,} jobs as one batch (put with callback)", added).under(1000)
        .note(f"{SIZE:,} command jobs, {len(json.dumps({'jobs': [JOB] * SIZE})) / 1e6:.2f} MB "
              "of JSON; each repeat after QUEUE:CLEAR"),
        samples("  every job's estimate from its command", estimated).under(1000)
        .note("from the add's completion until QUEUE:ETA:UNKNOWN is 0: the commands' "
              "estimate functions (looked up once per batch) in a process of their own"),
        samples(f"move one job in a {SIZE:,}-job queue", quiet["move"]).under(2)
        .note("put with callback to completion; nobody monitors the large PVs (QUEUE, "
              "QUEUE:IDS, HISTORY): a GUI follows QUEUE:CHANGE and the row windows"),
        samples(f"edit one job in a {SIZE:,}-job queue", quiet["edit"]).under(2),
        samples(f"remove one job from a {SIZE:,}-job queue", quiet["remove"]).under(2),
        samples("  QUEUE:CHANGE monitor shows a move", quiet["change"])
        .note("from before the put until the monitor update arrives"),
        samples("  QUEUE:LEN monitor shows a remove", quiet["len"]),
        samples("  with a QUEUE monitor open: move", watched["move"])
        .note("the same, while a client monitors the whole queue as JSON (rebuilt for it "
              "after each put)"),
        samples("  with a QUEUE monitor open: QUEUE shows the move", watched["queue"]).under(10),
        single(f"IOC memory (VmRSS) with {SIZE:,} queued", rss, "MB",
               baseline=empty).under(60)
        .note(f"after the first add; baseline: the same IOC at start, empty queue "
              f"({empty:.0f} MB: Python with numpy, caproto, pvapy, pydantic, SQLite)"),
        single(f"  after {repeats} more adds and clears and the edits", rss_after, "MB"),
        single("IOC peak memory (VmHWM)", peak, "MB").under(200),
    ]
    rows += large_queue(ioc, big, count, empty)
    return rows


def large_queue(ioc: ScriptServerIOC, size: int, count: int, empty: float) -> list[Row]:
    """Fill the queue to ``size`` jobs (batches of SIZE) and check it still answers."""
    clear = connect(ioc.pv("QUEUE:CLEAR"))
    clear.put(1, wait=True, timeout=60)
    t0 = time.monotonic()
    for _ in range(size // SIZE):
        add_batches(ioc, 1)
    filled = time.monotonic() - t0
    rss = ioc.memory_mb("VmRSS")
    times = edits(ioc, count, size, watch_queue=False, first=0)
    read = reads(ioc, 200)
    return [
        single(f"IOC memory (VmRSS) with {size:,} queued", rss, "MB").under(300)
        .note(f"{size // SIZE} adds of {SIZE:,} jobs in {filled:.1f} s"),
        single("  bytes per queued job", (rss - empty) * 1e6 / size, "B")
        .note(f"(VmRSS with {size:,} queued - VmRSS at start) / {size:,}: the job, its JSON "
              "where the PV shows it, the PVA table row, the store's cache"),
        samples(f"  move one job in a {size:,}-job queue", times["move"])
        .note("no target: the issue asks that a 100,000-job queue stays responsive"),
        samples(f"  remove one job from a {size:,}-job queue", times["remove"]),
        samples(f"  caget QUEUE:LEN with {size:,} queued", read),
    ]
