"""Control latency: pause-now on a busy Python loop, abort of a sleeping and a stubborn job.

- pause now: ``time.monotonic()`` before the put to ``JOB:PAUSE:NOW`` to the arrival of
  the ``STATE`` monitor update showing PAUSED. The job is a pure-Python loop that writes
  a timestamp every 100,000 iterations, so after each resume the next pause waits until
  the job is really running again.
- abort: before the put to ``JOB:ABORT`` to the job's process group being gone
  (``os.killpg(pgid, 0)`` fails; the job wrote its pgid on its first line), for a job
  sleeping in C (``time.sleep(100)``) and for one that ignores SIGTERM, so only the
  SIGKILL at the end of the grace period (``abort_grace``, set small here) removes it.
- abort put: before the put to ``JOB:ABORT`` to its completion callback, for the job
  ignoring SIGTERM: the put answers once the job is signalled, not when the grace ends.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from .harness import (ScriptServerIOC, Watch, connect, file_lines, group_gone, script,
                      wait_for_lines, wait_until)
from .report import Row, samples

GRACE = 0.2      # s: abort_grace of the benchmark IOC

BUSY = """
import time
beats = open({beats}, 'a')
x = 0
while True:
    x += 1
    if x % 100_000 == 0:
        beats.write(f'{{time.monotonic()!r}}\\n')
        beats.flush()
"""
SLEEPER = """
import os, time
open({mark}, 'w').write(f'{{os.getpgid(0)}}\\n')
time.sleep(100)
"""
STUBBORN = """
import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
open({mark}, 'w').write(f'{{os.getpgid(0)}}\\n')
while True:
    time.sleep(0.05)
"""


class Controls:
    def __init__(self, ioc: ScriptServerIOC):
        self.pvs = {name: connect(ioc.pv(name)) for name in (
            "QUEUE:ADD", "QUEUE:START", "QUEUE:CLEAR", "JOB:PAUSE:NOW", "JOB:RESUME",
            "JOB:ABORT")}
        self.state = Watch(ioc.pv("STATE"), as_string=True)

    def put(self, name: str, value: object = 1) -> None:
        self.pvs[name].put(value, wait=True, timeout=10)

    def put_nowait(self, name: str, value: object = 1):
        """Start a put with callback; returns a check of whether it has completed."""
        pv = self.pvs[name]
        pv.put(value, wait=False, use_complete=True)
        return lambda: pv.put_complete

    def run(self, source: str) -> None:
        """Queue the job and start the queue (stopped after an abort)."""
        self.put("QUEUE:ADD", json.dumps({"script": source}))
        self.put("QUEUE:START")


def running_since(beats: Path, since: float) -> bool:
    lines = file_lines(beats)
    return bool(lines) and float(lines[-1]) > since


def pause_now(ctl: Controls, root: Path, count: int) -> tuple[list[float], list[float]]:
    """(put -> PAUSED shown, put -> put completed) for each pause."""
    beats = root / "beats.txt"
    ctl.run(script(BUSY, beats=beats))
    wait_until(lambda: running_since(beats, 0), timeout=30, what="the busy job to run")
    out, puts = [], []
    for i in range(count + 2):                       # the first two warm up
        t0 = time.monotonic()
        ctl.put("JOB:PAUSE:NOW")
        put = time.monotonic()
        paused = ctl.state.wait_value("PAUSED", after=t0, timeout=10)
        if i >= 2:
            out.append(paused - t0)
            puts.append(put - t0)
        t1 = time.monotonic()
        ctl.put("JOB:RESUME")
        wait_until(lambda: running_since(beats, t1), timeout=10, what="the job to resume")
    t2 = time.monotonic()
    ctl.put("JOB:ABORT")
    ctl.state.wait_value("IDLE", after=t2, timeout=10)
    ctl.put("QUEUE:CLEAR")
    return out, puts


def abort(ctl: Controls, root: Path, source: str,
          count: int) -> tuple[list[float], list[float]]:
    """(put -> process group gone, put -> put completed) for each abort."""
    out, puts = [], []
    for i in range(count + 1):                       # the first warms up
        mark = root / f"pgid-{time.monotonic_ns()}.txt"
        ctl.run(script(source, mark=mark))
        pgid = int(wait_for_lines(mark, 1)[0])
        answered: list[float] = []
        t0 = time.monotonic()
        completed = ctl.put_nowait("JOB:ABORT")      # watch the group while the put runs

        def gone() -> bool:
            if not answered and completed():
                answered.append(time.monotonic())
            return group_gone(pgid)
        wait_until(gone, timeout=GRACE + 10, interval=0.0005,
                   what=f"process group {pgid} to go")
        gone_at = time.monotonic()
        wait_until(completed, timeout=10, what="the JOB:ABORT put to complete")
        answered = answered or [time.monotonic()]
        ctl.state.wait_value("IDLE", after=t0, timeout=10)
        ctl.put("QUEUE:CLEAR")                       # an aborted job returns to the queue
        if i >= 1:
            out.append(gone_at - t0)
            puts.append(answered[0] - t0)
    return out, puts


def measure(root: Path, quick: bool) -> list[Row]:
    pauses, aborts = (15, 8) if quick else (40, 20)
    ioc = ScriptServerIOC(root, abort_grace=GRACE).start()
    ctl = Controls(ioc)
    paused, puts = pause_now(ctl, root, pauses)
    sleeper, _ = abort(ctl, root, SLEEPER, aborts)
    stubborn, stubborn_puts = abort(ctl, root, STUBBORN, aborts)
    limit = (GRACE + 0.1) * 1e3
    return [
        samples("pause now: busy Python loop -> STATE PAUSED", paused).under(20),
        samples("  JOB:PAUSE:NOW put with callback completes", puts)
        .note("the put alone: the server signals the job and answers; no target"),
        samples("abort: job sleeping in C -> group gone", sleeper)
        .under(limit, label=f"grace + 100 = {limit:.0f}")
        .note(f"abort_grace is {GRACE} s here; target: under 100 ms beyond the grace period"),
        samples("abort: job ignoring SIGTERM -> group gone", stubborn)
        .under(limit, label=f"grace + 100 = {limit:.0f}"),
        samples("  same, minus the grace period", [t - GRACE for t in stubborn]).under(100),
        samples("  JOB:ABORT put with callback completes", stubborn_puts)
        .under(GRACE * 1e3, label=f"grace = {GRACE * 1e3:.0f}")
        .note("the put answers once the job is signalled; it does not wait out the grace"),
    ]
