"""Line-reporting overhead on a CPU-bound pure-Python job.

The same job (a pure-Python loop calling a function, so the sampled line changes at
every sample) runs on two IOCs at once: one samples the current line every 0.1 s
(``line_interval: 0.1``, the default), the other not at all (``line_interval: 0``).
The job times its own loop with ``time.perf_counter`` and writes the time to a file.
Runs alternate between the two IOCs so drift on the machine falls on both alike;
the overhead is the ratio of the medians, minus one.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from .harness import ScriptServerIOC, connect, p50, script, wait_for_lines
from .report import Row, samples

WORK = """
import time

def step(i):
    return i * i % 7

def work(n):
    total = 0
    for i in range(n):
        total += step(i)
    return total

wall, cpu = time.perf_counter(), time.process_time()
work({n})
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
open({out}, 'a').write(f'{{wall!r}} {{cpu!r}}\\n')
"""


def calibrate(seconds: float) -> int:
    """Loop count for about ``seconds`` of work here (the job runs the same code)."""
    namespace: dict = {}
    exec(WORK.split("wall, cpu =")[0], namespace)
    n = 100_000
    t0 = time.perf_counter()
    namespace["work"](n)
    return max(n, int(n * seconds / (time.perf_counter() - t0)))


def run_jobs(iocs: dict[str, ScriptServerIOC], root: Path, n: int,
             pairs: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, cpu) per run and IOC; run k of one IOC and run k of the other are a pair."""
    adds = {key: connect(ioc.pv("QUEUE:ADD")) for key, ioc in iocs.items()}
    for ioc in iocs.values():
        connect(ioc.pv("QUEUE:START")).put(1, wait=True)
    outs = {key: root / f"times-{key}.txt" for key in iocs}
    times: dict[str, list[tuple[float, float]]] = {key: [] for key in iocs}
    keys = list(iocs)
    for i in range(pairs + 1):                       # the first pair warms up
        for key in keys if i % 2 else reversed(keys):   # ABBA: linear drift cancels
            job = {"script": script(WORK, n=n, out=outs[key]), "name": f"work {key}"}
            adds[key].put(json.dumps(job), wait=True, timeout=10)
            lines = wait_for_lines(outs[key], i + 1, timeout=60, interval=0.01)
            if i >= 1:
                wall, cpu = lines[i].split()
                times[key].append((float(wall), float(cpu)))
    return times


def measure(root: Path, quick: bool) -> list[Row]:
    seconds, pairs = (0.3, 12) if quick else (0.4, 30)
    iocs = {"on": ScriptServerIOC(root, "lines", line_interval=0.1).start(),
            "off": ScriptServerIOC(root, "nolines", line_interval=0).start()}
    n = calibrate(seconds)
    times = run_jobs(iocs, root, n, pairs)
    rows = []
    for k, what in ((1, "CPU time"), (0, "wall time")):
        on, off = [t[k] for t in times["on"]], [t[k] for t in times["off"]]
        rows.append(samples(f"CPU-bound job {what}, lines sampled every 0.1 s", on, unit="s",
                            scale=1, baseline=off))
        extra = [100.0 * (a / b - 1.0) for a, b in zip(on, off)]
        rows.append(Row(f"  line-reporting overhead ({what})", "%", p50(extra), n=len(extra))
                    .under(3))
    rows[1].note(
        f"job: {n:,} calls of a pure-Python function (~{seconds} s), timed inside the job "
        "with time.process_time (its CPU, all its threads) and time.perf_counter (wall); "
        "baseline: the same job on a second IOC with line_interval 0; overhead: median over "
        "back-to-back pairs (ABBA order) of on/off - 1")
    return rows
