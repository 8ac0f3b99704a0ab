"""Real IOC processes and real Channel Access clients, on loopback only.

Each test IOC gets its own PV prefix and its own CA port from a pool chosen at
session start; the clients' address list names every port of the pool, so
pyepics (libca reads its environment once) finds every IOC of the session.
"""
from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from scriptserver.ioc.transport import free_ports


PORTS = free_ports(24, start=20000)
_pva_ports = free_ports(48, start=20000)[24:]                  # not the CA ports: pairs, server + broadcast
PVA_PORTS = itertools.cycle(_pva_ports)
os.environ.update({
    "EPICS_CA_ADDR_LIST": " ".join(f"127.0.0.1:{p}" for p in PORTS),
    "EPICS_CA_AUTO_ADDR_LIST": "NO",
    "EPICS_CA_MAX_ARRAY_BYTES": "20000000",
    "EPICS_PVA_ADDR_LIST": "127.0.0.1",
    "EPICS_PVA_AUTO_ADDR_LIST": "NO",
})
_port_pool = itertools.cycle(PORTS)
_prefix_numbers = itertools.count(1)
REPO = Path(__file__).resolve().parent.parent
DEMO_COMMANDS = REPO / "config" / "demo" / "commands"


def write(folder: Path, name: str, source: str) -> Path:
    """Write a (dedented) source file into a folder the test made, e.g. a command folder."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


def wait_for(condition, timeout: float = 10.0, interval: float = 0.02, what: str = ""):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except Exception as err:  # noqa: BLE001 - keep polling until the deadline
            last = err
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}: {last!r}")


def jobs_in(request) -> int:
    """How many jobs a QUEUE:ADD payload holds: a job, a list, or {"jobs": [...]}."""
    if isinstance(request, str):
        request = json.loads(request, strict=False)     # caput -S may send real newlines
    if isinstance(request, list):
        return len(request)
    return len(request["jobs"]) if "jobs" in request else 1


def add(ioc: "IOC", request) -> list[int]:
    """Queue through caproto's client (a refusal raises with the server's words) and return
    the ids of THIS add: one new id per job, none of them given out before."""
    from ca import get_value, put_checked        # ca imports pyepics: after the CA environment
    before = {int(i) for i in get_value(ioc.pv("QUEUE:ADD:IDS"))} - {0}    # 0: none yet
    put_checked(ioc.pv("QUEUE:ADD"), request)
    ids = [int(i) for i in get_value(ioc.pv("QUEUE:ADD:IDS"))]
    assert len(ids) == jobs_in(request) == len(set(ids)), (ids, request)
    assert not before & set(ids), f"QUEUE:ADD:IDS still shows ids of an earlier add: {ids}"
    return ids


class IOC:
    """A scriptserver-ioc process with its own prefix, port, folders and state."""

    def __init__(self, root: Path, *, commands: Path | None = None, extra_config: str = "",
                 login: bool = True):
        self.root = root
        self.login = login              # log the test's CA user in after every start
        self.port = next(_port_pool)
        self.pva_port, self.pva_broadcast = next(PVA_PORTS), next(PVA_PORTS)
        self.prefix = f"T{os.getpid()}X{next(_prefix_numbers)}:"
        self.commands = commands or DEMO_COMMANDS
        self.scripts = root / "scripts"
        self.scripts.mkdir(parents=True, exist_ok=True)
        self.state = root / "state"
        self.config = root / "config.yaml"
        self.config.write_text(textwrap.dedent(f"""\
            prefix: "{self.prefix}"
            commands: ["{self.commands}"]
            scripts: ["{self.scripts}"]
            state_dir: "{self.state}"
            abort_grace: 1.0
            """) + extra_config)
        self.log = root / "ioc.log"
        self.process: subprocess.Popen | None = None

    def pva_env(self) -> dict[str, str]:
        """The PV Access ports of this IOC, for it and for a PVA client of it."""
        return {"EPICS_PVAS_SERVER_PORT": str(self.pva_port),
                "EPICS_PVA_SERVER_PORT": str(self.pva_port),
                "EPICS_PVAS_BROADCAST_PORT": str(self.pva_broadcast),
                "EPICS_PVA_BROADCAST_PORT": str(self.pva_broadcast),
                "EPICS_PVA_ADDR_LIST": "127.0.0.1", "EPICS_PVA_AUTO_ADDR_LIST": "NO"}

    def pv(self, suffix: str) -> str:
        return self.prefix + suffix

    def env(self, extra_env: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ, EPICS_CAS_SERVER_PORT=str(self.port),
                   EPICS_CA_SERVER_PORT=str(self.port), EPICS_CAS_INTF_ADDR_LIST="127.0.0.1",
                   EPICS_PVAS_INTF_ADDR_LIST="127.0.0.1", **self.pva_env(),
                   PYTHONUNBUFFERED="1")
        env.update(extra_env or {})
        return env

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "scriptserver.ioc", "--config", str(self.config)]

    def start(self, extra_env: dict[str, str] | None = None, preexec_fn=None) -> "IOC":
        """Start it in a session of its own; ``extra_env`` overrides its environment (e.g.
        EPICS settings), ``preexec_fn`` runs in it first (say, to block signals as procServ
        does)."""
        self.mark_log()
        self.process = subprocess.Popen(
            self.argv(), env=self.env(extra_env), stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec_fn)
        try:
            self.wait_ready()
        except BaseException:
            # a start that fails here has no fixture teardown to stop it: a stray IOC would
            # keep its port, and later IOCs on the same port lose their searches to it
            try:
                self.kill(with_launcher=True)
            except Exception:  # noqa: BLE001 - the start's own failure is the one to report
                pass
            raise
        return self

    def mark_log(self) -> None:
        """Readiness is looked for in the log from here on (the log is appended to)."""
        self._log_start = self.log.stat().st_size if self.log.exists() else 0

    def wait_ready(self) -> None:
        """Wait for this start's 'ready' (see mark_log); log the test's user in."""
        wait_for(lambda: self.ready(), timeout=30, what=f"IOC {self.prefix} to start "
                 f"(log: {self.log})")
        if self.login:
            import ca
            ca.login(self.prefix)

    def ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"IOC exited with {self.process.returncode}:\n{self.log_text()}")
        return b"ready:" in self.log.read_bytes()[getattr(self, "_log_start", 0):]   # this start's, not the last

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)

    def launchers(self) -> list[int]:
        """The IOC's fork servers (its children; each leads a session of its own)."""
        return [p.pid for p in psutil.Process(self.process.pid).children()
                if "scriptserver.runner.forkserver" in " ".join(p.cmdline())]

    def kill(self, with_launcher: bool = False) -> None:
        """Kill -9 the IOC process as a crash would; ``with_launcher``: its fork server too."""
        launchers = self.launchers() if with_launcher else []
        self.process.kill()
        for pid in launchers:
            os.kill(pid, signal.SIGKILL)
        self.process.wait(5)


@pytest.fixture
def ioc(tmp_path):
    server = IOC(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def make_ioc(tmp_path):
    started: list[IOC] = []

    def make(**kwargs) -> IOC:
        server = IOC(tmp_path / f"ioc{len(started)}", **kwargs)
        started.append(server)
        return server
    yield make
    for server in started:
        server.stop()
