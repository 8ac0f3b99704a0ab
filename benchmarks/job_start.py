"""Job start latency and trivial-job throughput, against starting a bare Python.

Start latency: with the queue running and idle, ``time.monotonic()`` just before the
pyepics put to ``QUEUE:ADD`` (with callback), to the ``time.monotonic()`` the job's
first line writes to a file (CLOCK_MONOTONIC is one clock for every process on Linux).
Baseline: the same first line in ``python -c`` started with subprocess.

Throughput: a batch of trivial jobs added to a stopped queue, then ``QUEUE:START``;
time until a monitor shows ``QUEUE:LEN`` 0 and then ``STATE`` IDLE. Every job appends
one byte to a file, which is checked. Baseline: ``python -c pass`` run back to back.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from .harness import (ScriptServerIOC, Watch, children, children_cpu_seconds, connect,
                      cpu_seconds, script, text, wait_for_lines, wait_until)
from .report import Row, samples, single

FIRST_LINE = "import time; open({path}, 'a').write(f'{{time.monotonic()!r}}\\n')"
TRIVIAL = "open({path}, 'a').write('.')"


def python_first_line(count: int) -> list[float]:
    out = []
    code = "import time, sys; sys.stdout.write(repr(time.monotonic()))"
    for _ in range(count):
        t0 = time.monotonic()
        first = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
        out.append(float(first.stdout) - t0)
    return out


def python_rate(count: int) -> float:
    t0 = time.monotonic()
    for _ in range(count):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    return count / (time.monotonic() - t0)


def log_in(ioc: ScriptServerIOC) -> None:
    """Writes need a login, as for any user: ``caput -S P:AUTH:LOGIN "$(caget -t -S P:TOKEN)"``."""
    token = connect(ioc.pv("TOKEN")).get(as_string=True, timeout=10)
    connect(ioc.pv("AUTH:LOGIN")).put(text(token), wait=True, timeout=10)


def refused(ioc: ScriptServerIOC) -> str:
    """P:ERROR's words: why a put was refused (pyepics' put reports success regardless)."""
    return connect(ioc.pv("ERROR")).get(as_string=True, timeout=10) or "(P:ERROR is empty)"


def start_latency(ioc: ScriptServerIOC, root: Path,
                  count: int) -> tuple[list[float], list[float]]:
    """(put -> the job's first line, put -> put completed) per job, with the queue running
    and idle (``when_empty`` KEEP_RUNNING: it waits for jobs)."""
    add = connect(ioc.pv("QUEUE:ADD"))
    state = Watch(ioc.pv("STATE"), as_string=True)
    queue = Watch(ioc.pv("QUEUE:STATE"), as_string=True)
    connect(ioc.pv("QUEUE:START")).put(1, wait=True)
    try:
        queue.wait_value("RUNNING", timeout=10)
    except TimeoutError:
        raise RuntimeError(f"the queue did not start: {refused(ioc)}") from None
    queue.close()
    marks = root / f"first-lines-{time.monotonic_ns()}.txt"
    job = json.dumps({"script": script(FIRST_LINE, path=marks), "name": "first line"})
    out, puts = [], []
    for i in range(count + 3):                      # the first three warm up
        state.wait_value("IDLE", timeout=30)
        t0 = time.monotonic()
        add.put(job, wait=True, timeout=10)
        put = time.monotonic()
        try:
            lines = wait_for_lines(marks, i + 1, timeout=10)
        except TimeoutError:
            raise RuntimeError(f"job {i + 1} did not run; P:ERROR: {refused(ioc)}") from None
        running = state.wait_value("RUNNING", after=t0)
        state.wait_value("IDLE", after=running)     # ended: the next starts from idle
        if i >= 3:
            out.append(float(lines[i]) - t0)
            puts.append(put - t0)
    state.close()
    return out, puts


def throughput(ioc: ScriptServerIOC, root: Path, count: int) -> tuple[float, float, str]:
    """(jobs per second, seconds, where the CPU went) for ``count`` trivial jobs."""
    connect(ioc.pv("QUEUE:STOP")).put(1, wait=True)
    marks = root / f"trivial-{time.monotonic_ns()}.txt"
    batch = {"jobs": [{"script": script(TRIVIAL, path=marks)} for _ in range(count)]}
    connect(ioc.pv("QUEUE:ADD")).put(json.dumps(batch), wait=True, timeout=30)
    length = Watch(ioc.pv("QUEUE:LEN"))
    state = Watch(ioc.pv("STATE"), as_string=True)
    if length.value != count:
        raise RuntimeError(f"expected {count} queued jobs, QUEUE:LEN is {length.value}")
    launchers = children(ioc.pid)                   # the fork server: it reaps the jobs
    ioc_cpu, jobs_cpu = cpu_seconds(ioc.pid), sum(children_cpu_seconds(p) for p in launchers)
    t0 = time.monotonic()
    connect(ioc.pv("QUEUE:START")).put(1, wait=True)
    emptied = length.wait_value(0, after=t0, timeout=120)
    t1 = state.wait_value("IDLE", after=emptied, timeout=30)
    ioc_cpu = cpu_seconds(ioc.pid) - ioc_cpu
    jobs_cpu = sum(children_cpu_seconds(p) for p in launchers) - jobs_cpu
    done = wait_until(lambda: marks.exists() and marks.stat().st_size >= count, timeout=5)
    if not done or marks.stat().st_size != count:
        raise RuntimeError(f"{marks.stat().st_size} of {count} trivial jobs ran")
    spent = (f"per job: {1e3 * (t1 - t0) / count:.1f} ms wall, IOC CPU "
             f"{1e3 * ioc_cpu / count:.1f} ms, job process CPU {1e3 * jobs_cpu / count:.1f} ms")
    return count / (t1 - t0), t1 - t0, spent


def measure(root: Path, quick: bool) -> list[Row]:
    starts, batch = (30, 200) if quick else (100, 200)
    baseline = python_first_line(10 if quick else 30)
    baseline_rate = python_rate(20 if quick else 50)
    ioc = ScriptServerIOC(root).start()
    log_in(ioc)
    latency, puts = start_latency(ioc, root, starts)
    rate, seconds, spent = throughput(ioc, root, batch)
    return [
        samples("job start: QUEUE:ADD put -> first line runs", latency, baseline=baseline)
        .under(10).note("baseline: subprocess.run(python -c ...) to its first line; "
                        "both clocks are CLOCK_MONOTONIC"),
        samples("  QUEUE:ADD put with callback completes", puts)
        .note("the put alone: the job is checked, stored, queued and launched; no target"),
        single(f"throughput: {batch} trivial jobs", rate, "jobs/s", baseline=baseline_rate)
        .at_least(100).note(f"{batch} jobs in {seconds:.2f} s, from QUEUE:START to STATE "
                            f"IDLE ({spent}); baseline: python -c pass run back to back"),
    ]
