"""IOC CPU while a job calls progress() in a tight loop (the rate limiting at work).

The job calls ``progress()`` as fast as it can for a few seconds (well over 100,000
calls a second) and says how many calls it made. The IOC's CPU (utime+stime from
/proc, % of one core) is taken from the job's first line to its last; one client
monitors ``JOB:PROGRESS`` and counts the updates it gets. Baseline: the same window
with a job that only sleeps.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from .harness import CpuWindow, ScriptServerIOC, Watch, connect, script, wait_for_lines
from .report import Row, single

FLOOD = """
import time
from scriptserver.jobs.api import progress
out = open({out}, 'w')
out.write(f'{{time.monotonic()!r}}\\n'); out.flush()
end = time.monotonic() + {seconds}
n = 0
while time.monotonic() < end:
    for _ in range(1000):
        progress(n % 10_000, 10_000)
        n += 1
out.write(f'{{n}} {{time.monotonic()!r}}\\n')
"""
SLEEP = """
import time
out = open({out}, 'w')
out.write(f'{{time.monotonic()!r}}\\n'); out.flush()
time.sleep({seconds})
out.write(f'0 {{time.monotonic()!r}}\\n')
"""


def window(ioc: ScriptServerIOC, root: Path, source: str, seconds: float,
           progress: Watch) -> tuple[float, int, float, int]:
    """(IOC CPU %, calls, seconds, updates seen) over the job's own window."""
    out = root / f"flood-{time.monotonic_ns()}.txt"
    cpu = CpuWindow(ioc.pid)
    connect(ioc.pv("QUEUE:ADD")).put(json.dumps({"script": script(source, out=out,
                                                                  seconds=seconds)}),
                                     wait=True, timeout=10)
    wait_for_lines(out, 1, timeout=30, interval=0.0005)
    cpu.start()
    seen0 = len(progress.events)
    lines = wait_for_lines(out, 2, timeout=seconds + 30, interval=0.0005)
    cpu.stop()
    calls, ended = lines[1].split()
    return cpu.percent, int(calls), float(ended) - float(lines[0]), len(progress.events) - seen0


def measure(root: Path, quick: bool) -> list[Row]:
    seconds = 3.0 if quick else 5.0
    ioc = ScriptServerIOC(root).start()
    connect(ioc.pv("QUEUE:START")).put(1, wait=True)
    progress = Watch(ioc.pv("JOB:PROGRESS"), values=False)
    idle_cpu, _, _, _ = window(ioc, root, SLEEP, seconds, progress)
    cpu, calls, took, updates = window(ioc, root, FLOOD, seconds, progress)
    return [
        single("IOC CPU while a job calls progress() flat out", cpu, "% core", baseline=idle_cpu)
        .under(10).note(f"{calls / took:,.0f} progress() calls/s for {took:.1f} s; the "
                        f"monitor saw {updates / took:.0f} updates/s; baseline: a sleeping "
                        "job; target: 'low', read here as under 10 % of one core"),
    ]
