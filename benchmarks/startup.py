"""Start-up: the IOC over a store holding 100,000 queued jobs, against an empty store.

- start-up to READY: from starting ``python -m scriptserver.ioc`` until its log says it
  is ready (``P:SERVER:STATE`` READY is published just before), over an empty store
  (the baseline) and over one holding 100,000 queued jobs; each started a few times, the
  same store restarted (min / median / max in the notes);
- the first read answered after READY: a caget of ``QUEUE:LEN`` over a fresh connection
  (caproto's client), timed from READY: what a client waits while the IOC still builds
  what it publishes at start;
- the IOC's memory with 100,000 queued: VmRSS once it is idle after READY, and its peak.

The 100,000 jobs are written to the store by the store's own code (as one accepted
QUEUE:ADD of distinct command jobs writes them), not sent over Channel Access: adding
them is measured in ``scale``; here only the start.
"""
from __future__ import annotations

import time
from pathlib import Path

from .harness import ScriptServerIOC, cpu_seconds, p50, wait_until
from .report import Row, samples, single

SIZE = 100_000


def fill_store(state: Path, size: int) -> None:
    """A store holding ``size`` queued command jobs, each with its own arguments."""
    from scriptserver.db.store import Store
    from scriptserver.jobs.manager import JobManager, NewJob
    from scriptserver.jobs.spec import parse_job

    store = Store(state / "scriptserver.sqlite")
    try:
        next_id, queue, history = store.load()
        manager = JobManager(next_id=next_id, queue=queue, history=history,
                             max_queue=max(size, 1))
        jobs = [NewJob(parse_job({"command": "wait", "args": {"seconds": round(i * 1e-3, 3)}}),
                       round(i * 1e-3, 3), "command") for i in range(size)]
        if jobs:
            store.apply(manager.add(jobs, by="bench@localhost"), manager.next_id, manager.queue)
    finally:
        store.close()


def first_read(ioc: ScriptServerIOC) -> int:
    """QUEUE:LEN over a fresh connection (search, connect, read)."""
    from caproto.sync.client import read
    return int(read(ioc.pv("QUEUE:LEN"), timeout=60, repeater=False).data[0])


def idle(pid: int, quiet: float = 0.3) -> None:
    """Wait until the process has used no CPU for ``quiet`` seconds (what it does after
    READY, e.g. building the large PVs, is over)."""
    last = [cpu_seconds(pid), time.monotonic()]

    def settled() -> bool:
        now = cpu_seconds(pid)
        if now != last[0]:
            last[:] = [now, time.monotonic()]
        return time.monotonic() - last[1] >= quiet
    wait_until(settled, timeout=60, interval=0.05, what="the IOC to go idle")


def starts(ioc: ScriptServerIOC, times: int, size: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"ready": [], "read": [], "rss": [], "peak": []}
    for _ in range(times):
        ioc.log.unlink(missing_ok=True)              # ready is looked for in a new log
        t0 = time.monotonic()
        ioc.start()                                  # returns when the log says ready
        ready = time.monotonic()
        length = first_read(ioc)
        out["read"].append(time.monotonic() - ready)
        out["ready"].append(ready - t0)
        if length != size:
            raise RuntimeError(f"QUEUE:LEN is {length} after the start, not {size}")
        idle(ioc.pid)
        out["rss"].append(ioc.memory_mb("VmRSS"))
        out["peak"].append(ioc.memory_mb("VmHWM"))
        ioc.stop()
    return out


def spread_note(what: str, values: list[float], scale: float = 1e3, unit: str = "ms") -> str:
    low, mid, high = min(values) * scale, p50(values) * scale, max(values) * scale
    return f"{what}: min {low:.0f} / median {mid:.0f} / max {high:.0f} {unit} over " \
           f"{len(values)} starts"


def measure(root: Path, quick: bool) -> list[Row]:
    times = 2 if quick else 3
    empty = ScriptServerIOC(root, "empty")
    full = ScriptServerIOC(root, "full")
    (full.root / "state").mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    fill_store(full.root / "state", SIZE)
    filled = time.monotonic() - t0
    base = starts(empty, times, 0)
    big = starts(full, times, SIZE)
    extra = [b - a for a, b in zip(sorted(base["ready"]), sorted(big["ready"]))]
    return [
        samples(f"start-up to READY, {SIZE:,} queued jobs in the store", big["ready"],
                baseline=base["ready"])
        .note(spread_note(f"{SIZE:,} queued", big["ready"]) + "; "
              + spread_note("baseline, an empty store", base["ready"])),
        samples("  of which the stored jobs (over the empty store)", extra).under(1000)
        .note(f"paired by rank (fastest with fastest); filling the store took {filled:.1f} s "
              "(not counted)"),
        samples("  first read answered after READY (QUEUE:LEN, fresh connection)", big["read"],
                baseline=base["read"])
        .note(spread_note("after READY", big["read"])),
        single(f"IOC memory (VmRSS) with {SIZE:,} queued, idle after start",
               max(big["rss"]), "MB", baseline=max(base["rss"])).under(300)
        .note("baseline: the same IOC over an empty store"),
        single("  IOC peak memory (VmHWM) during the start", max(big["peak"]), "MB",
               baseline=max(base["peak"])),
    ]
