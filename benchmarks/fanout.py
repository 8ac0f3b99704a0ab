"""Fan-out: 100 monitoring clients while a job reports progress at 10 Hz.

The clients are 10 processes of ``fanout_client`` with 10 CA circuits each, so the
IOC serves 100 TCP circuits (counted from /proc/net/tcp), each monitoring
``JOB:PROGRESS``, ``JOB:ELAPSED`` and ``JOB:LINE``.

The job calls ``progress(i, 10000)`` ten times a second and writes, for each i, the
``time.monotonic()`` taken just before the call; ``JOB:PROGRESS`` then shows i/100 %,
so every update a client receives names the call it came from. Update latency is the
arrival time at the client's socket minus that send time (one clock:
CLOCK_MONOTONIC), over every update of every client. IOC CPU is the IOC process's
utime+stime over the job. Baseline: the same job watched by one such client.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from .harness import (CpuWindow, ScriptServerIOC, Watch, connect, file_lines, script,
                      wait_until)
from .report import Row, samples, single

PROCESSES, CLIENTS_EACH = 10, 10
TOTAL = 10_000
WATCHED = ("JOB:PROGRESS", "JOB:ELAPSED", "JOB:LINE")

REPORTER = """
import time
from scriptserver.jobs.api import progress
log = open({log}, 'w')
beat = time.monotonic()
for i in range(1, {count} + 1):
    sent = time.monotonic()
    progress(i, {total})
    log.write(f'{{i}} {{sent!r}}\\n')
    beat += 0.1
    time.sleep(max(0.0, beat - time.monotonic()))
log.close()
"""


def circuits(port: int) -> int:
    """Established TCP connections to ``port`` on this machine (server side)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                        count += 1
        except FileNotFoundError:
            pass
    return count


def run_reporter(ioc: ScriptServerIOC, root: Path, seconds: float, tag: str,
                 during=None) -> tuple[dict[int, float], float, float]:
    """Run the 10 Hz job; (send time per i, IOC CPU %, window s)."""
    log = root / f"progress-{tag}.txt"
    state = Watch(ioc.pv("STATE"), as_string=True)
    job = {"script": script(REPORTER, log=log, count=int(seconds * 10), total=TOTAL),
           "name": f"10 Hz progress ({tag})"}
    cpu = CpuWindow(ioc.pid)
    cpu.start()
    t0 = time.monotonic()
    connect(ioc.pv("QUEUE:ADD")).put(json.dumps(job), wait=True, timeout=10)
    if during is not None:
        wait_until(lambda: len(file_lines(log)) >= 5, timeout=30, interval=0.01)
        during()
    running = state.wait_value("RUNNING", after=t0, timeout=30)
    state.wait_value("IDLE", after=running, timeout=seconds + 30)
    cpu.stop()
    state.close()
    sent = {int(i): float(t) for i, t in (line.split() for line in file_lines(log))}
    return sent, cpu.percent, cpu.seconds


def latencies(sent: dict[int, float], received: list[tuple[int, float, float]]) -> list[float]:
    out = []
    for _client, arrived, value in received:
        i = round(value * TOTAL / 100)
        if i in sent and arrived >= sent[i]:
            out.append(arrived - sent[i])
    return out


def watching(ioc: ScriptServerIOC, root: Path, processes: int, each: int, seconds: float,
             tag: str) -> tuple[list[tuple[int, float, float]], dict[int, float], float, float,
                                int]:
    """Run the 10 Hz job while ``processes`` x ``each`` clients monitor; their updates,
    the send times, IOC CPU %, the window and the circuits open during the job."""
    clients: list[subprocess.Popen] = []
    outs = [root / f"{tag}-{k}.json" for k in range(processes)]
    readies = [root / f"{tag}-{k}.ready" for k in range(processes)]
    served = 0
    try:
        for k in range(processes):
            clients.append(subprocess.Popen(
                [sys.executable, "-m", "benchmarks.fanout_client", "--server",
                 f"127.0.0.1:{ioc.port}", "--clients", str(each), "--ready", str(readies[k]),
                 "--out", str(outs[k]), "--timeout", str(seconds + 90),
                 *(ioc.pv(n) for n in WATCHED)],
                stdin=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent))
        wait_until(lambda: all(r.exists() or c.poll() is not None
                               for r, c in zip(readies, clients)),
                   timeout=90, interval=0.05, what="the clients to connect")
        if not all(r.exists() for r in readies):
            raise RuntimeError("a client process failed to connect")

        def count_circuits() -> None:
            nonlocal served
            served = circuits(ioc.port)

        sent, cpu, window = run_reporter(ioc, root, seconds, tag, during=count_circuits)
        for client in clients:
            assert client.stdin is not None
            client.stdin.close()                     # stop: write records and exit
        for client in clients:
            client.wait(30)
    finally:
        for client in clients:
            if client.poll() is None:
                client.kill()
                client.wait(5)
    received = [tuple(r) for out in outs for r in json.loads(out.read_text())]
    return received, sent, cpu, window, served


def measure(root: Path, quick: bool) -> list[Row]:
    seconds = 4.0 if quick else 10.0
    # update_rate 0: every report goes out, so the rows measure the fan-out itself (with
    # the default 10 Hz limit, one client and a hundred would both wait for their slot)
    ioc = ScriptServerIOC(root, update_rate=0).start()
    connect(ioc.pv("QUEUE:START")).put(1, wait=True)

    received, sent, cpu_one, _, _ = watching(ioc, root, 1, 1, seconds, "one")
    one = latencies(sent, received)
    received, sent, cpu_many, window, served = watching(ioc, root, PROCESSES, CLIENTS_EACH,
                                                        seconds, "many")
    many = latencies(sent, received)
    expected = len(sent) * PROCESSES * CLIENTS_EACH
    rows = [
        samples("progress update latency, 100 clients", many, baseline=one).ratio_within(3)
        .note(f"job send time (before progress()) -> arrival at each client's socket; "
              f"{len(many):,} of {expected:,} updates matched; {served} circuits open to the "
              "IOC during the job (100 clients + this process); the 10 client processes share "
              "the machine's cores with the IOC and the job; update_rate 0 (every report sent); "
              "baseline: the same client, alone"),
        single("IOC CPU, job at 10 Hz, 100 clients", cpu_many, "% core", baseline=cpu_one)
        .under(5).note(f"utime+stime of the IOC process over the {window:.1f} s job window, % "
                       "of one core; baseline: same job, 1 client"),
    ]
    return rows
