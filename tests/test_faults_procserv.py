"""Under a real procServ (how IBEX and most EPICS sites run IOCs), where it is installed.

procServ starts its child with SIGTERM, SIGHUP and SIGPIPE blocked (the same start is
simulated in test_faults_cleanup.py, so that holds on any machine). Its kill command
(^X, or its own SIGTERM) sends ``--killsig`` to the IOC's process group; on its own exit
it then SIGKILLs that group at once.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess

import pytest

from ca import put_checked
from conftest import wait_for
from faults import all_gone, cleaned_up, job_pids, spawning_job
from test_ioc_control import add, ended, history, ids

PROCSERV = shutil.which("procServ")
pytestmark = pytest.mark.skipif(PROCSERV is None, reason="procServ is not installed "
                                "(apt-get install procserv); its blocked signals are "
                                "simulated in test_faults_cleanup.py")


class UnderProcServ:
    """An IOC run by procServ, with a UNIX control socket and a log file."""

    def __init__(self, ioc, killsig: int = signal.SIGTERM):
        self.ioc = ioc
        self.control = ioc.root / "procserv.sock"
        self.pid_file = ioc.root / "procserv.pid"
        ioc.root.mkdir(parents=True, exist_ok=True)
        ioc.mark_log()
        subprocess.run([PROCSERV, "--quiet", "--noautorestart", "--killsig", str(int(killsig)),
                        "--logfile", str(ioc.log), "--pidfile", str(self.pid_file),
                        f"unix:{self.control}", *ioc.argv()],
                       env=ioc.env(), check=True, timeout=10)
        ioc.wait_ready()
        self.pid = int(self.pid_file.read_text())

    def send(self, keys: bytes, then: str) -> None:
        """Type ``keys`` on procServ's console, as an operator would, until the IOC log
        shows ``then``."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.control))
            sock.settimeout(5)
            wait_for(lambda: sock.recv(4096), what="procServ's greeting")
            sock.sendall(keys)
            wait_for(lambda: then in self.ioc.log_text(), what=f"{then!r} in the IOC log")

    def ioc_pid(self) -> int:
        return int(wait_for(lambda: [p for p in os.listdir("/proc") if p.isdigit() and
                                     _ppid(int(p)) == self.pid], what="procServ's child")[0])

    def stop(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def _ppid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError):
        return 0


@pytest.fixture
def procserv_ioc(make_ioc):
    started = []

    def start(**kwargs):
        server = UnderProcServ(make_ioc(), **kwargs)
        started.append(server)
        return server
    yield start
    for server in started:
        server.stop()


def test_procserv_kill_command_gives_the_job_its_cleanup(procserv_ioc, tmp_path):
    server = procserv_ioc(killsig=signal.SIGTERM)
    ioc = server.ioc
    (job,) = add(ioc, spawning_job(tmp_path))
    put_checked(ioc.pv("QUEUE:START"), 1)
    pids = job_pids(tmp_path)
    ioc_pid = server.ioc_pid()
    server.send(b"\x18", then="SIGTERM received")          # ^X: procServ's kill command
    wait_for(lambda: cleaned_up(tmp_path), what="the job's finally:")
    all_gone(pids + [ioc_pid], timeout=10)
    assert "stopped" in ioc.log_text()
    server.stop()
    ioc.start()                                           # recorded, back at the head
    run = history(ioc)[0]
    assert run["id"] == job and run["status"] == "aborted" and "SIGTERM" in run["error"]
    assert ids(ioc) == [job]


def test_procserv_exit_leaves_no_job_process(procserv_ioc, tmp_path):
    """procServ's own exit SIGKILLs the IOC's group: the fork server (in a session of its
    own) still ends the job, its grandchild in another session too."""
    server = procserv_ioc(killsig=signal.SIGKILL)
    ioc = server.ioc
    add(ioc, spawning_job(tmp_path, ignore_sigterm=True))
    put_checked(ioc.pv("QUEUE:START"), 1)
    pids = job_pids(tmp_path)
    server.stop()
    all_gone(pids, timeout=3)


def test_a_job_under_procserv_runs_with_no_signal_blocked(procserv_ioc, tmp_path):
    from faults import signal_state
    server = procserv_ioc()
    (job,) = add(server.ioc, spawning_job(tmp_path))
    put_checked(server.ioc.pv("QUEUE:START"), 1)
    pids = job_pids(tmp_path)
    assert signal_state(server.ioc_pid())["SigBlk"] == 0
    assert signal_state(pids[0])["SigBlk"] == 0
    put_checked(server.ioc.pv("JOB:ABORT"), 1)
    ended(server.ioc, job, "aborted")
    assert cleaned_up(tmp_path)
    all_gone(pids)
