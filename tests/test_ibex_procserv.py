"""The IBEX start script under procServ: abort and shutdown clean up as without it.

``config/ibex/st.sh`` ``exec``s the IOC, so procServ's child is the IOC itself. The
same checks run with the script started directly (and killed as procServ kills it),
and with the signal state procServ gives its child (SIGHUP, SIGPIPE, SIGTERM blocked;
SIGINT, SIGQUIT ignored), so the behaviour is covered where procServ is not installed.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import conftest
from ca import fresh, fresh_json, login, put_checked
from conftest import DEMO_COMMANDS, wait_for

START = Path(__file__).resolve().parent.parent / "config" / "ibex" / "st.sh"
JOB = """\
import pathlib, time
pathlib.Path({started!r}).touch()
try:
    time.sleep(60)
finally:
    pathlib.Path({cleaned!r}).write_text("cleaned")
"""


def like_procserv() -> None:
    """In the child before exec: the signal state procServ leaves its IOC in."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP, signal.SIGPIPE, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)


def launchers(tmp_path: Path) -> dict[str, list[str]]:
    return {"direct": ["sh", str(START)],
            "procServ": ["procServ", "--foreground", "--noautorestart", "--quiet",
                         "--logfile", str(tmp_path / "procserv.log"), "--name", "SCRPTSRV_01",
                         f"127.0.0.1:{next(conftest._port_pool)}", str(START)]}


@pytest.mark.parametrize("launcher", ["direct", "procServ"])
def test_abort_and_shutdown_clean_up_under_the_start_script(tmp_path, launcher):
    if launcher == "procServ" and shutil.which("procServ") is None:
        pytest.skip("procServ is not installed (apt-get install procserv); 'direct' covers it")
    port = next(conftest._port_pool)
    prefix = f"TE:PS{os.getpid()}{launcher[0].upper()}:"
    env = dict(os.environ, MYPVPREFIX=prefix, SCRIPTSERVER_PYTHON=sys.executable,
               EPICS_CAS_SERVER_PORT=str(port), EPICS_CAS_INTF_ADDR_LIST="127.0.0.1",
               PYTHONUNBUFFERED="1", MACROS=json.dumps({
                   "COMMANDS": str(DEMO_COMMANDS), "STATE_DIR": str(tmp_path / "state"),
                   "ABORT_GRACE": "2", "PVA": "NO"}))
    log = (tmp_path / "ioc.log").open("ab")
    process = subprocess.Popen(launchers(tmp_path)[launcher], env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True,
                               preexec_fn=like_procserv if launcher == "direct" else None)
    pv = f"{prefix}SCRPTSRV_01:".__add__
    try:
        wait_for(lambda: any("ready:" in p.read_text(errors="replace")
                             for p in tmp_path.glob("*.log")), timeout=40, what="the IOC")
        assert fresh(pv("STATE")) == "IDLE"
        login(pv(""))                           # the demo configuration asks for a login
        # stopped, procServ kills its child's process group with SIGKILL (its --killsig
        # default): the IOC and its job launcher; "direct" does the same by hand
        for round in ("abort", "shutdown"):
            started, cleaned = tmp_path / f"{round}.started", tmp_path / f"{round}.cleaned"
            put_checked(pv("QUEUE:ADD"), {"script": JOB.format(started=str(started),
                                                               cleaned=str(cleaned))})
            put_checked(pv("QUEUE:START"), 1)
            wait_for(started.exists, timeout=20, what=f"the {round} job to start")
            if round == "abort":
                put_checked(pv("JOB:ABORT"), 1)
                wait_for(lambda: (fresh_json(pv("HISTORY")) or [{}])[0].get("status") ==
                         "aborted", timeout=20, what="the abort to be recorded")
                put_checked(pv("QUEUE:CLEAR"), 1)     # the aborted job went back to the head
            elif launcher == "procServ":
                process.send_signal(signal.SIGTERM)
                process.wait(20)
            else:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(20)
            wait_for(cleaned.exists, timeout=20, what=f"the {round} job's cleanup")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
