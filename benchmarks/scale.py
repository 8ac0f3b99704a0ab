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


def add_batches(ioc: ScriptServerIOC, repeats: int) -> list[float]:
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
            if i:
                clear.write([1], wait=True, timeout=60)
            t0 = time.monotonic()
            add.write(batch, wait=True, timeout=120, data_type=ChannelType.CHAR)
            out.append(time.monotonic() - t0)
        return out
    finally:
        context.disconnect()


def edits(ioc: ScriptServerIOC, count: int) -> dict[str, list[float]]:
    ids = [int(i) for i in connect(ioc.pv("QUEUE:ADD:IDS")).get(use_monitor=False, timeout=10)]
    if len(ids) != SIZE:
        raise RuntimeError(f"expected {SIZE} ids in QUEUE:ADD:IDS, got {len(ids)}")
    queue = Watch(ioc.pv("QUEUE"), values=False)
    length = Watch(ioc.pv("QUEUE:LEN"))
    pvs = {name: connect(ioc.pv(name)) for name in ("QUEUE:MOVE", "QUEUE:EDIT", "QUEUE:REMOVE")}
    times: dict[str, list[float]] = {k: [] for k in ("move", "edit", "remove", "queue", "len")}
    middle = ids[SIZE // 2: SIZE // 2 + count]
    for step in range(count):
        job_id = middle[step]
        for kind, pv, request in (
                ("move", "QUEUE:MOVE", {"id": job_id, "pos": 0}),
                ("edit", "QUEUE:EDIT", {"id": job_id, "job": EDITED}),
                ("remove", "QUEUE:REMOVE", [job_id])):
            t0 = time.monotonic()
            pvs[pv].put(json.dumps(request), wait=True, timeout=30)
            times[kind].append(time.monotonic() - t0)
            shown = queue.wait(lambda v: True, after=t0, timeout=30)[0]
            if kind == "move":
                times["queue"].append(shown - t0)
            if kind == "remove":
                times["len"].append(length.wait_value(SIZE - step - 1, after=t0, timeout=30) - t0)
    return times


def measure(root: Path, quick: bool) -> list[Row]:
    repeats, count = (2, 5) if quick else (4, 20)
    ioc = ScriptServerIOC(root).start()
    added = add_batches(ioc, repeats)
    rss = ioc.memory_mb("VmRSS")
    times = edits(ioc, count)
    rss_after, peak = ioc.memory_mb("VmRSS"), ioc.memory_mb("VmHWM")
    return [
        samples(f"add {SIZE:,} jobs as one batch (put with callback)", added).under(1000)
        .note(f"{SIZE:,} command jobs, {len(json.dumps({'jobs': [JOB] * SIZE})) / 1e6:.2f} MB "
              "of JSON; each repeat after QUEUE:CLEAR"),
        samples(f"move one job in a {SIZE:,}-job queue", times["move"]).under(10),
        samples(f"edit one job in a {SIZE:,}-job queue", times["edit"]).under(10),
        samples(f"remove one job from a {SIZE:,}-job queue", times["remove"]).under(10),
        samples("  QUEUE (JSON) monitor shows a move", times["queue"])
        .note("from before the put until the monitor update arrives (no target in the issue)"),
        samples("  QUEUE:LEN monitor shows a remove", times["len"]),
        single(f"IOC memory (VmRSS) with {SIZE:,} queued", max(rss, rss_after), "MB").under(200),
        single("IOC peak memory (VmHWM)", peak, "MB").under(200),
    ]
