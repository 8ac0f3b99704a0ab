"""Job start latency and trivial-job throughput, against starting a bare Python.

Start latency: with the queue running and idle, ``time.monotonic()`` just before the
pyepics put to ``QUEUE:ADD`` (with callback), to the ``time.monotonic()`` the job's
first line writes to a file (CLOCK_MONOTONIC is one clock for every process on Linux).
Baseline: the same first line in ``python -c`` started with subprocess.

Throughput: a batch of trivial jobs added to a stopped queue, then ``QUEUE:START``;
time until a monitor shows ``QUEUE:LEN`` 0 and then ``STATE`` IDLE. Every job appends
one byte to a file, which is checked. Baseline: ``python -c pass`` run back to back.

Both are taken on two IOCs side by side, in alternating blocks: one as configured by
default (a spare job process forked ahead, handed each job), one with
``spare_process: false`` (each job forked as it starts), so the spare's effect is
measured under the same load.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from .harness import (ScriptServerIOC, Watch, children, children_cpu_seconds, connect,
                      cpu_seconds, script, wait_for_lines, wait_until)
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


def refused(ioc: ScriptServerIOC) -> str:
    """P:ERROR's words: why a put was refused (pyepics' put reports success regardless)."""
    return connect(ioc.pv("ERROR")).get(as_string=True, timeout=10) or "(P:ERROR is empty)"


class Starts:
    """Start latency on one IOC, with the queue running and idle (``when_empty``
    KEEP_RUNNING: it waits for jobs), taken in blocks so that two IOCs can alternate."""

    def __init__(self, ioc: ScriptServerIOC, root: Path):
        self.ioc = ioc
        self.add = connect(ioc.pv("QUEUE:ADD"))
        self.state = Watch(ioc.pv("STATE"), as_string=True)
        queue = Watch(ioc.pv("QUEUE:STATE"), as_string=True)
        connect(ioc.pv("QUEUE:START")).put(1, wait=True)
        try:
            queue.wait_value("RUNNING", timeout=10)
        except TimeoutError:
            raise RuntimeError(f"the queue did not start: {refused(ioc)}") from None
        queue.close()
        self.marks = root / f"first-lines-{ioc.name}.txt"
        self.job = json.dumps({"script": script(FIRST_LINE, path=self.marks),
                               "name": "first line"})
        self.done = 0
        self.latency: list[float] = []          # put -> the job's first line
        self.puts: list[float] = []             # put -> put completed

    def run(self, count: int, keep: bool = True) -> None:
        for _ in range(count):
            self.state.wait_value("IDLE", timeout=30)
            t0 = time.monotonic()
            self.add.put(self.job, wait=True, timeout=10)
            put = time.monotonic()
            try:
                lines = wait_for_lines(self.marks, self.done + 1, timeout=10)
            except TimeoutError:
                raise RuntimeError(f"job {self.done + 1} did not run; P:ERROR: "
                                   f"{refused(self.ioc)}") from None
            running = self.state.wait_value("RUNNING", after=t0)
            self.state.wait_value("IDLE", after=running)     # ended: the next starts from idle
            if keep:
                self.latency.append(float(lines[self.done]) - t0)
                self.puts.append(put - t0)
            self.done += 1

    def close(self) -> None:
        self.state.close()


def alternating(starts: list[Starts], count: int, blocks: int = 4) -> None:
    """``count`` starts on each, in ``blocks`` blocks, ABBA order, after 3 to warm up."""
    for each in starts:
        each.run(3, keep=False)
    for block in range(blocks):
        for each in (starts if block % 2 == 0 else starts[::-1]):
            each.run(count // blocks)


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
    length.close()
    state.close()
    done = wait_until(lambda: marks.exists() and marks.stat().st_size >= count, timeout=5)
    if not done or marks.stat().st_size != count:
        raise RuntimeError(f"{marks.stat().st_size} of {count} trivial jobs ran")
    spent = (f"per job: {1e3 * (t1 - t0) / count:.1f} ms wall, IOC CPU "
             f"{1e3 * ioc_cpu / count:.1f} ms, job process CPU {1e3 * jobs_cpu / count:.1f} ms")
    return count / (t1 - t0), t1 - t0, spent


def spread(values: list[float], unit: str) -> str:
    low, mid, high = min(values), sorted(values)[len(values) // 2], max(values)
    return f"min / median / max {low:.0f} / {mid:.0f} / {high:.0f} {unit} over {len(values)} runs"


def measure(root: Path, quick: bool) -> list[Row]:
    starts, batch, repeats = (32, 100, 3) if quick else (100, 200, 5)
    baseline = python_first_line(10 if quick else 30)
    baseline_rate = python_rate(20 if quick else 50)
    spare = ScriptServerIOC(root, "spare").start()
    fresh = ScriptServerIOC(root, "fresh", spare_process=False).start()
    timed = [Starts(spare, root), Starts(fresh, root)]
    alternating(timed, starts)
    for each in timed:
        each.close()
    rates: dict[str, list[float]] = {"spare": [], "fresh": []}
    spent: dict[str, list[str]] = {"spare": [], "fresh": []}
    for i in range(repeats):
        for ioc in ((spare, fresh) if i % 2 == 0 else (fresh, spare)):
            rate, seconds, where = throughput(ioc, root, batch)
            rates[ioc.name].append(rate)
            spent[ioc.name].append(where)
    middle = {name: spent[name][sorted(range(repeats), key=lambda i: values[i])[repeats // 2]]
              for name, values in rates.items()}
    with_spare, without = timed
    return [
        samples("job start: QUEUE:ADD put -> first line runs", with_spare.latency,
                baseline=baseline)
        .under(3).note("a spare job process, forked ahead, is handed the job (the default); "
                       "baseline: subprocess.run(python -c ...) to its first line; both "
                       "clocks are CLOCK_MONOTONIC"),
        samples("  the same, each job forked when it starts", without.latency,
                baseline=with_spare.latency)
        .note("a second IOC with spare_process: false, in alternating blocks with the "
              "first (ABBA); baseline: with the spare (the row above)"),
        samples("  QUEUE:ADD put with callback completes", with_spare.puts)
        .note("the put alone: the job is checked, stored, queued and launched; no target"),
        single(f"throughput: {batch} trivial jobs", sorted(rates["spare"])[repeats // 2],
               "jobs/s", baseline=baseline_rate, n=repeats)
        .at_least(300).note(f"{spread(rates['spare'], 'jobs/s')}, from QUEUE:START to "
                            f"STATE IDLE; the median run: {middle['spare']}; baseline: "
                            "python -c pass run back to back"),
        single("  the same, each job forked when it starts", sorted(rates["fresh"])[repeats // 2],
               "jobs/s", baseline=sorted(rates["spare"])[repeats // 2], n=repeats)
        .note(f"spare_process: false, runs alternating with the above; "
              f"{spread(rates['fresh'], 'jobs/s')}; the median run: {middle['fresh']}; "
              "baseline: with the spare"),
    ]
