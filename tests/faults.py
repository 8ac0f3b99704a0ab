"""Helpers of the fault tests: jobs that leave processes about, and looking for them."""
from __future__ import annotations

import signal
from pathlib import Path

from conftest import wait_for
from scriptserver.runner.tree import is_zombie

BLOCKED_BY_PROCSERV = {signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE}


def block_like_procserv() -> None:
    """preexec_fn: start the IOC with the signals procServ blocks blocked."""
    signal.pthread_sigmask(signal.SIG_BLOCK, BLOCKED_BY_PROCSERV)


def spawning_job(folder: Path, *, ignore_sigterm: bool = False, kill_parent: bool = False,
                 cleanup_takes: float = 0.2) -> dict:
    """A job that starts a child in its group and a grandchild in a session of its own,
    writes their pids to ``folder/pids``, runs until stopped, and on its way out sleeps
    ``cleanup_takes`` s, then writes 'safe' to ``folder/cleanup``."""
    pids, cleanup = folder / "pids", folder / "cleanup"
    return {"name": "spawner", "script": f"""\
import os, signal, subprocess, time
{"signal.signal(signal.SIGTERM, signal.SIG_IGN)" if ignore_sigterm else ""}
child = subprocess.Popen(["sleep", "300"])
grandchild = subprocess.Popen(["sleep", "300"], start_new_session=True)
with open({str(pids)!r}, "w") as f:
    f.write("%d %d %d" % (os.getpid(), child.pid, grandchild.pid))
{"os.kill(os.getppid(), signal.SIGKILL)" if kill_parent else ""}
try:
    while True:
        time.sleep(0.02)
finally:
    time.sleep({cleanup_takes})
    with open({str(cleanup)!r}, "w") as f:
        f.write("safe")
"""}


def job_pids(folder: Path) -> list[int]:
    text = wait_for(lambda: (folder / "pids").exists() and (folder / "pids").read_text(),
                    what="the job to write its pids")
    return [int(p) for p in text.split()]


def running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    return not is_zombie(pid)


def all_gone(pids: list[int], timeout: float = 3.0) -> None:
    wait_for(lambda: not any(running(p) for p in pids), timeout=timeout,
             what=f"processes {pids} to be gone; running: {[p for p in pids if running(p)]}")


def cleaned_up(folder: Path) -> bool:
    path = folder / "cleanup"
    return path.exists() and path.read_text() == "safe"


def signal_state(pid: int) -> dict[str, int]:
    """SigBlk and SigIgn of a process, as bit masks."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("SigBlk", "SigIgn"):
            fields[key] = int(value, 16)
    return fields


def bit(sig: int) -> int:
    return 1 << (sig - 1)
