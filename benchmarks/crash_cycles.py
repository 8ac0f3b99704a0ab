"""Kill -9 the IOC again and again under concurrent clients: what is survived.

    python -m benchmarks.crash_cycles               # 50 cycles, 3 clients
    python -m benchmarks.crash_cycles --cycles 100 --clients 5

Each cycle starts the IOC on the same state folder, starts the queue (its head is a
job that starts a child in its own group and a grandchild in a session of its own,
then runs until stopped), lets the clients add jobs concurrently through caproto's
client (an add counts as acknowledged when its put completed without error), then
kills the IOC with SIGKILL at a random moment. It then counts the job's processes
still running one second after the kill (orphans), and, after the next start, the
acknowledged jobs that are in neither ``P:QUEUE`` nor ``P:HISTORY`` (lost) or are
there twice (duplicated). It prints one summary table; the run fails (exit status 1)
if anything acknowledged was lost or duplicated or any job process outlived the IOC.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from scriptserver.runner.tree import is_zombie

from . import harness

ORPHAN_WINDOW = 1.0          # s after the kill within which every job process must be gone
SPAWNER = """\
import os, subprocess, time
child = subprocess.Popen(["sleep", "300"])
grandchild = subprocess.Popen(["sleep", "300"], start_new_session=True)
with open({pids!r}, "w") as f:
    f.write("%d %d %d" % (os.getpid(), child.pid, grandchild.pid))
while True:
    time.sleep(0.05)
"""


def caproto():
    from caproto.sync import client
    return client


def put(name: str, value: str | int, timeout: float = 3.0) -> None:
    """A put that completes when the server has applied it; raises when it refused."""
    import numpy as np
    from caproto import ChannelType
    if isinstance(value, int):
        caproto().write(name, value, notify=True, timeout=timeout, repeater=False)
        return
    data = np.frombuffer(value.encode() + b"\0", dtype=np.uint8)
    caproto().write(name, data, notify=True, data_type=ChannelType.CHAR, timeout=timeout,
                    repeater=False)


def read_text(name: str) -> str:
    data = caproto().read(name, timeout=5, repeater=False, data_type=None).data
    return data.tobytes().split(b"\0")[0].decode() if data.dtype.kind == "u" else str(data[0])


class CrashingIOC:
    """The script server on a fixed state folder and port, started and killed many times."""

    def __init__(self, root: Path):
        self.root = root
        self.port, self.pva_port, self.pva_broadcast = harness._next_ports()
        self.prefix = f"CRASH{os.getpid()}:"
        self.log = root / "ioc.log"
        self.config = root / "config.yaml"
        self.config.write_text(json.dumps({
            "prefix": self.prefix, "commands": [str(harness.DEMO_COMMANDS)], "scripts": [],
            "state_dir": str(root / "state"), "abort_grace": 1.0, "pva": False,
            "history_length": 100_000}))
        self.process: subprocess.Popen | None = None

    def pv(self, suffix: str) -> str:
        return self.prefix + suffix

    def start(self) -> None:
        before = self.log.read_text().count(" ready:") if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "scriptserver.ioc", "--config", str(self.config)],
                env=harness.server_env(self.port, self.pva_port, self.pva_broadcast),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            harness.wait_until(lambda: self.log.read_text().count(" ready:") > before,
                               timeout=60, interval=0.01, what="the IOC to start")
        except TimeoutError:
            raise TimeoutError("the IOC did not start; its log ends:\n"
                               + self.log.read_text()[-3000:]) from None
        # writes need a login (this user at this address, any connection): every start
        # makes a new token
        put(self.pv("AUTH:LOGIN"), read_text(self.pv("TOKEN")))

    def launchers(self) -> list[int]:
        return harness.children(self.process.pid)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(20)


def running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    return not is_zombie(pid)


CLIENT = """\
import json, sys, time
import numpy as np
from caproto import ChannelType
from caproto.sync import client
pv, stem, out = sys.argv[1:]
n = 0
with open(out, "a") as acknowledged:
    while True:
        name = f"{stem}-{n}"
        n += 1
        data = np.frombuffer(json.dumps({"script": "pass", "name": name}).encode() + b"\\0",
                             dtype=np.uint8)
        try:
            client.write(pv, data, notify=True, data_type=ChannelType.CHAR, timeout=3,
                         repeater=False)
        except Exception as err:
            print(type(err).__name__, err, file=sys.stderr, flush=True)
            time.sleep(0.05)
        else:
            acknowledged.write(name + "\\n")
            acknowledged.flush()
"""


class Clients:
    """Client processes (caproto's sync client is one per process) adding uniquely named
    jobs until stopped; each writes the names the server acknowledged to a file."""

    def __init__(self, ioc: CrashingIOC, count: int, cycle: int, root: Path):
        self.files = [root / f"acked-{cycle}-{i}" for i in range(count)]
        self.processes = [subprocess.Popen(
            [sys.executable, "-c", CLIENT, ioc.pv("QUEUE:ADD"), f"c{cycle}-{i}", str(f)],
            env=harness.server_env(ioc.port, ioc.pva_port, ioc.pva_broadcast),
            stderr=subprocess.PIPE, text=True) for i, f in enumerate(self.files)]
        self.acknowledged: list[str] = []
        self.failed = 0

    def __enter__(self) -> "Clients":
        harness.wait_until(lambda: all(f.exists() and f.stat().st_size for f in self.files),
                           timeout=30, interval=0.01, what="every client's first add")
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            process.kill()
        for process in self.processes:
            _, errors = process.communicate(timeout=10)
            self.failed += len(errors.splitlines())
        self.acknowledged = [name for f in self.files for name in f.read_text().split()]


def stored_names(ioc: CrashingIOC) -> list[str]:
    queue = json.loads(read_text(ioc.pv("QUEUE")) or "[]")
    history = json.loads(read_text(ioc.pv("HISTORY")) or "[]")
    return [j["name"] for j in queue] + [r["name"] for r in history
                                         if r["status"] not in ("interrupted", "aborted")]


def run(cycles: int, clients: int, root: Path, seed: int = 0) -> dict[str, float]:
    rng = random.Random(seed)
    ioc = CrashingIOC(root)
    pids_file = root / "pids"
    acknowledged: list[str] = []
    totals = {"cycles": 0, "acknowledged adds": 0, "refused or cut adds": 0,
              "acknowledged adds lost": 0, "duplicated": 0, "orphan job processes": 0,
              "max s to job gone": 0.0}
    ioc.start()
    put(ioc.pv("QUEUE:ADD"), json.dumps({"script": SPAWNER.format(pids=str(pids_file)),
                                         "name": "spawner"}))
    try:
        for cycle in range(cycles):
            pids_file.unlink(missing_ok=True)
            put(ioc.pv("QUEUE:START"), 1)
            harness.wait_until(pids_file.exists, timeout=20, interval=0.01,
                               what="the spawner to run")
            time.sleep(0.05)
            pids = [int(p) for p in pids_file.read_text().split()] + ioc.launchers()
            with Clients(ioc, clients, cycle, root) as adding:
                time.sleep(rng.uniform(0.2, 1.0))
                killed = time.monotonic()
                ioc.kill()
            while any(running(p) for p in pids) and time.monotonic() - killed < 5:
                time.sleep(0.005)
            gone_after = time.monotonic() - killed
            totals["max s to job gone"] = max(totals["max s to job gone"], round(gone_after, 3))
            totals["orphan job processes"] += sum(running(p) for p in pids)
            for pid in pids:                       # leave nothing behind us, whatever happened
                if running(pid):
                    os.kill(pid, signal.SIGKILL)
            acknowledged += adding.acknowledged
            totals["acknowledged adds"] += len(adding.acknowledged)
            totals["refused or cut adds"] += adding.failed
            ioc.start()
            names = stored_names(ioc)
            totals["acknowledged adds lost"] = len(set(acknowledged) - set(names))
            totals["duplicated"] = len(names) - len(set(names))
            totals["cycles"] = cycle + 1
            print(f"cycle {cycle + 1}/{cycles}: {len(adding.acknowledged)} adds acknowledged, "
                  f"job gone {gone_after * 1000:.0f} ms after the kill"
                  f" ({adding.failed} adds cut or refused)", flush=True)
    finally:
        ioc.stop()
    return totals


def table(totals: dict[str, float]) -> str:
    must_be_zero = {"acknowledged adds lost", "duplicated", "orphan job processes"}
    lines = [f"{'what':<28}{'value':>10}  check", "-" * 50]
    for key, value in totals.items():
        check = ("PASS" if value == 0 else "FAIL") if key in must_be_zero else ""
        if key == "max s to job gone":
            check = "PASS" if value <= ORPHAN_WINDOW else "FAIL"
        lines.append(f"{key:<28}{value:>10}  {check}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.crash_cycles",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    harness.use_ports(1)
    with harness.workdir() as folder:
        totals = run(args.cycles, args.clients, Path(folder), args.seed)
    print()
    print(table(totals))
    failed = "FAIL" in table(totals)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
