"""What every measurement needs: loopback ports, IOC processes, waiting, statistics.

Channel Access clients read their environment once, so a measurement process calls
``use_ports`` before anything imports ``epics``; every IOC it starts then takes one
of those ports, and every client (pyepics or caproto) finds it on loopback only.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from scriptserver.ioc.config import demo_config_path
from scriptserver.ioc.transport import free_ports
from scriptserver.runner.tree import group_gone  # noqa: F401 - for the benchmarks

DEMO_COMMANDS = demo_config_path().parent / "demo" / "commands"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20

_ports: list[int] = []                       # Channel Access, one per IOC
_pva_ports: list[int] = []                   # PV Access: server and broadcast, two per IOC
_started: list["_Server"] = []


# -- ports and environment --------------------------------------------------------

def use_ports(count: int = 6) -> list[int]:
    """Reserve ports for ``count`` IOCs of this process and point CA clients at them only."""
    ports = free_ports(3 * count, start=30000)
    _ports[:], _pva_ports[:] = ports[:count], ports[count:]
    os.environ.update({
        "EPICS_CA_ADDR_LIST": " ".join(f"127.0.0.1:{p}" for p in _ports),
        "EPICS_CA_AUTO_ADDR_LIST": "NO",
        "EPICS_CA_MAX_ARRAY_BYTES": "20000000",
        "EPICS_PVA_ADDR_LIST": "127.0.0.1",
        "EPICS_PVA_AUTO_ADDR_LIST": "NO",
    })
    return list(_ports)


def _next_ports() -> tuple[int, int, int]:
    if not _ports:
        raise RuntimeError("call harness.use_ports() before starting an IOC")
    return _ports.pop(0), _pva_ports.pop(0), _pva_ports.pop(0)


def server_env(port: int, pva_port: int, pva_broadcast: int) -> dict[str, str]:
    """Serve CA on ``port`` and PVA (when the server has it) on two more, loopback only."""
    return dict(os.environ, EPICS_CAS_SERVER_PORT=str(port), EPICS_CA_SERVER_PORT=str(port),
                EPICS_CAS_INTF_ADDR_LIST="127.0.0.1", EPICS_CAS_AUTO_BEACON_ADDR_LIST="NO",
                EPICS_CAS_BEACON_ADDR_LIST="127.0.0.1", EPICS_PVAS_INTF_ADDR_LIST="127.0.0.1",
                EPICS_PVAS_SERVER_PORT=str(pva_port), EPICS_PVA_SERVER_PORT=str(pva_port),
                EPICS_PVAS_BROADCAST_PORT=str(pva_broadcast),
                EPICS_PVA_BROADCAST_PORT=str(pva_broadcast), EPICS_PVA_ADDR_LIST="127.0.0.1",
                EPICS_PVA_AUTO_ADDR_LIST="NO", PYTHONUNBUFFERED="1")


# -- IOC processes ------------------------------------------------------------------

class _Server:
    """A server process in its own session, with a log file; stopped by ``stop_all``."""

    ready_text = ""

    def __init__(self, root: Path, name: str):
        self.root = root / name
        self.root.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.port, self.pva_port, self.pva_broadcast = _next_ports()
        self.prefix = f"BENCH{os.getpid()}{name.upper()}:"
        self.log = self.root / "server.log"
        self.process: subprocess.Popen | None = None

    def pv(self, suffix: str) -> str:
        return self.prefix + suffix

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def _spawn(self, argv: list[str], **kwargs: Any) -> None:
        env = server_env(self.port, self.pva_port, self.pva_broadcast)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True, **kwargs)
        _started.append(self)
        wait_until(self._ready, timeout=60, interval=0.01, what=f"{self.name} to start "
                   f"(log: {self.log})")

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n"
                               f"{self.log.read_text(errors='replace')[-2000:]}")
        return self.ready_text in self.log.read_text(errors="replace")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def memory_mb(self, key: str = "VmRSS") -> float:
        return memory_mb(self.pid, key)

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            self._ask_to_stop()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                pass
        try:
            # what it started (the fork server) stops its jobs and goes; then make sure
            wait_until(lambda: group_gone(process.pid), timeout=5, interval=0.01)
        except TimeoutError:
            os.killpg(process.pid, signal.SIGKILL)
        if process.poll() is None:
            process.wait(5)
        self.process = None

    def _ask_to_stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)


class ScriptServerIOC(_Server):
    """``python -m scriptserver.ioc`` with a configuration written for this benchmark."""

    ready_text = " ready:"

    def __init__(self, root: Path, name: str = "ss", **config: Any):
        super().__init__(root, name)
        settings = {"prefix": self.prefix, "commands": [str(DEMO_COMMANDS)], "scripts": [],
                    "state_dir": str(self.root / "state"), "preload": ["numpy"],
                    "abort_grace": 3.0, "when_empty": "KEEP_RUNNING", **config}
        self.config = settings
        self.config_file = self.root / "config.yaml"
        # JSON is YAML: no need to format YAML by hand
        self.config_file.write_text(json.dumps(settings, indent=1))

    def start(self) -> "ScriptServerIOC":
        self._spawn([sys.executable, "-m", "scriptserver.ioc", "--config", str(self.config_file)])
        self.login()
        return self

    def login(self) -> None:
        """Open this user's session on loopback, as an operator does once (P:TOKEN to
        P:AUTH:LOGIN): every client of this machine and user shares it, so the benchmarks
        measure puts through the access checks a real site has on."""
        from caproto import ChannelType
        from caproto.threading.client import Context

        context = Context()
        try:
            token, login = context.get_pvs(self.pv("TOKEN"), self.pv("AUTH:LOGIN"), timeout=10)
            secret = bytes(token.read(data_type=ChannelType.CHAR, timeout=10).data)
            login.write(text(secret.rstrip(b"\0").decode()), wait=True, timeout=10,
                        data_type=ChannelType.CHAR)
        finally:
            context.disconnect()


SOFT_IOC = "from epicscorelibs.ioc import main; main(extra_dbd_load=(), extra_dso_load=())"


class SoftIOC(_Server):
    """A C EPICS IOC (epicscorelibs' minimal softIoc: RSRV, base records, no PVA)."""

    ready_text = "IOC Running"

    def __init__(self, root: Path, records: str, name: str = "c"):
        super().__init__(root, name)
        self.db = self.root / "bench.db"
        self.db.write_text(textwrap.dedent(records).replace("$(P)", self.prefix))

    def start(self) -> "SoftIOC":
        # its interactive shell reads stdin: a pipe we hold open keeps it running
        self._spawn([sys.executable, "-c", SOFT_IOC, "-d", str(self.db)], stdin=subprocess.PIPE)
        return self

    def _ask_to_stop(self) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.close()                    # end of input: the shell exits


def stop_all() -> None:
    while _started:
        _started.pop().stop()


def workdir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="scriptserver-bench-")


# -- /proc ----------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (not its children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_cpu_seconds(pid: int) -> float:
    """CPU time of the children ``pid`` has waited for (cutime + cstime)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def memory_mb(pid: int, key: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(key)


class CpuWindow:
    """CPU used by a process between ``start()`` and ``stop()``, as % of one core."""

    def __init__(self, pid: int):
        self.pid = pid
        self.cpu0 = self.t0 = self.cpu1 = self.t1 = 0.0

    def start(self) -> None:
        self.cpu0, self.t0 = cpu_seconds(self.pid), time.monotonic()

    def stop(self) -> float:
        self.cpu1, self.t1 = cpu_seconds(self.pid), time.monotonic()
        return self.percent

    @property
    def percent(self) -> float:
        return 100.0 * (self.cpu1 - self.cpu0) / max(self.t1 - self.t0, 1e-9)

    @property
    def seconds(self) -> float:
        return self.t1 - self.t0


# -- waiting ------------------------------------------------------------------------

def wait_until(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.001,
               what: str = "") -> Any:
    """Poll ``condition`` (a cheap check: a file, a process) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)


def file_lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


def wait_for_lines(path: Path, count: int, timeout: float = 30.0,
                   interval: float = 0.0005) -> list[str]:
    """Wait until ``path`` has ``count`` complete lines (written by a job)."""
    def enough():
        try:
            content = path.read_text()
        except FileNotFoundError:
            return None
        lines = content.splitlines()
        return lines if len(lines) >= count and content.endswith("\n") else None
    return wait_until(enough, timeout, interval, what=f"{count} lines in {path}")


def script(source: str, **values: Any) -> str:
    """A job script: dedented, with ``{name}`` replaced by ``repr(value)``."""
    return textwrap.dedent(source).strip().format(**{k: repr(str(v) if isinstance(v, Path)
                                                                else v)
                                                     for k, v in values.items()}) + "\n"


class Watch:
    """A pyepics monitor that keeps every update with its arrival time (time.monotonic).

    Waiting is on a condition variable fed by the CA callback thread: no polling.
    """

    def __init__(self, name: str, *, as_string: bool = False, values: bool = True):
        import epics
        self.name = name
        self.as_string = as_string
        self.values = values              # False: keep arrival times only (big PVs)
        self.events: list[tuple[float, Any]] = []
        self._cond = threading.Condition()
        self._enum: tuple[str, ...] = ()
        self.pv = epics.PV(name, auto_monitor=True, form="native", callback=self._update)
        if not self.pv.wait_for_connection(10):
            raise TimeoutError(f"{name} did not connect")
        if as_string and self.pv.type == "enum":
            enum = tuple(self.pv.get_ctrlvars(timeout=10)["enum_strs"])
            with self._cond:
                self._enum = enum
                self.events = [(t, self._name(v)) for t, v in self.events]
        self.wait(lambda v: True, timeout=10)        # the first update: the current value

    def _update(self, value=None, char_value=None, **_: Any) -> None:
        arrived = time.monotonic()
        if not self.values:
            value = None
        elif self.as_string and isinstance(char_value, str) and not isinstance(value, int):
            value = char_value
        with self._cond:
            self.events.append((arrived, self._name(value)))
            self._cond.notify_all()

    def _name(self, value: Any) -> Any:
        """An enum's index as its string, once the strings are known."""
        if self._enum and isinstance(value, int):
            return self._enum[value]
        return value

    @property
    def value(self) -> Any:
        with self._cond:
            return self.events[-1][1] if self.events else None

    def wait(self, predicate: Callable[[Any], bool], after: float = 0.0,
             timeout: float = 30.0) -> tuple[float, Any]:
        """The first update that arrived after ``after`` and satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for arrived, value in self.events[seen:]:
                    if arrived > after and predicate(value):
                        return arrived, value
                seen = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name}: no update matching after {timeout} s "
                                       f"(last: {self.events[-1][1] if self.events else None!r})")
                self._cond.wait(left)

    def wait_value(self, wanted: Any, after: float = 0.0, timeout: float = 30.0) -> float:
        return self.wait(lambda v: v == wanted, after, timeout)[0]

    def close(self) -> None:
        self.pv.clear_callbacks()
        self.pv.disconnect()


def connect(name: str, timeout: float = 10.0):
    """A connected pyepics PV without a monitor (puts and plain gets)."""
    import epics
    pv = epics.PV(name, auto_monitor=False, form="native")
    if not pv.wait_for_connection(timeout):
        raise TimeoutError(f"{name} did not connect")
    return pv


def text(value: str) -> np.ndarray:
    """A string as a CHAR array (what ``caput -S`` sends), without pyepics' per-byte loop."""
    return np.frombuffer(value.encode() + b"\0", dtype=np.uint8)


# -- statistics -----------------------------------------------------------------------

def p50(values: list[float]) -> float:
    return float(np.median(values))


def p99(values: list[float]) -> float:
    return float(np.percentile(values, 99))
