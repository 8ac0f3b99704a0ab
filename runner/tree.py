"""A job's processes: everything under its fork server, whatever session or group they moved to.

A job leads its own process group, but a child that starts a new session (a daemon,
``start_new_session=True``) leaves that group; killing the group misses it. The fork
server is a child subreaper, so everything a job starts stays below it even when its
parent dies; the IOC's runner is a subreaper too, so the job's processes stay below
the IOC even when the fork server dies. Sweeping the tree below those processes
therefore finds all of a job's processes.

Children are read from ``/proc/PID/task/*/children`` (a few microseconds per process);
where that file does not exist, psutil finds them (it scans every process).
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
from pathlib import Path
from typing import Iterable

import psutil

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
PR_SET_CHILD_SUBREAPER = 36
SPARE_NAME = "scriptsrv-spare"     # a spare job process's name (comm: at most 15 bytes)


def prctl(option: int, value: int) -> bool:
    """Linux process control; False where it does not exist (then the feature is absent)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def become_subreaper() -> bool:
    """Orphans of our descendants become our children rather than init's."""
    return prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    prctl(PR_SET_PDEATHSIG, sig)


def name(pid: int) -> str | None:
    """The process's name (``comm``, as ``ps -o comm`` shows it); None if it is gone."""
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            return f.read().rstrip(b"\n").decode("utf-8", "replace")
    except OSError:
        return None


def set_name(text: str) -> bool:
    """Name the calling thread (the process, when called from its main thread)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(
            PR_SET_NAME, ctypes.c_char_p(text.encode()[:15]), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def is_spare(pid: int) -> bool:
    """A spare job process waiting for its job (see spare.py): no job's process yet.

    A spare has its name from the instant it is forked (the fork server takes the name
    for the fork, then takes its own back), and drops it when it is given its job, before
    any of the job runs: nothing a job starts can carry it by accident."""
    return name(pid) == SPARE_NAME


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (none if it is gone)."""
    tasks = Path(f"/proc/{pid}/task")
    try:
        found: list[int] = []
        for task in tasks.iterdir():
            try:
                found += map(int, (task / "children").read_text().split())
            except FileNotFoundError:
                if not (task / "stat").exists():
                    continue                     # the thread ended while we looked
                raise
        return found
    except FileNotFoundError:
        if tasks.parent.exists():
            return _children_by_psutil(pid)      # no children file in this kernel
        return []
    except (NotADirectoryError, PermissionError, ProcessLookupError):
        return _children_by_psutil(pid)


def _children_by_psutil(pid: int) -> list[int]:
    try:
        return [p.pid for p in psutil.Process(pid).children()]
    except psutil.Error:
        return []


def descendants(roots: Iterable[int]) -> list[int]:
    """Every process below ``roots`` (not the roots themselves), parents before children."""
    found: list[int] = []
    todo = list(roots)
    while todo:
        below = children(todo.pop())
        found += below
        todo += below
    return found


def session(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None


def group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot): with the pid, names a process
    uniquely, as pids are reused."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        try:
            return int(psutil.Process(pid).create_time() * 100)
        except psutil.Error:
            return None


def outside_group(pids: Iterable[int], pgid: int) -> list[int]:
    """Those of ``pids`` not in process group ``pgid`` (started in a group or session of their own)."""
    out = []
    for pid in pids:
        try:
            if os.getpgid(pid) != pgid:
                out.append(pid)
        except OSError:
            pass
    return out


def group_gone(pgid: int) -> bool:
    """No process is left in the process group, not even an unreaped zombie."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def is_zombie(pid: int) -> bool:
    """Exited (or gone), only not yet reaped: it runs nothing any more."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except FileNotFoundError:
        return True
    except OSError:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True


def signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        if pid > 1 and pid != os.getpid():
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass


def reap(pids: Iterable[int]) -> None:
    """Collect those of ``pids`` that are our own exited children (adopted orphans)."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def living(pids: Iterable[int]) -> list[int]:
    return [pid for pid in pids if not is_zombie(pid)]


def kill_step(pids: Iterable[int], *, reap_own: bool = False) -> list[int]:
    """One round of a sweep: SIGKILL those of ``pids`` still alive and return them (empty:
    all gone). ``reap_own``: first collect those that are our own exited children.
    Callers repeat it, finding the pids afresh, until it returns nothing: a process
    forked between two rounds is found in the next one."""
    pids = list(pids)
    if reap_own:
        reap(pids)
    alive = living(pids)
    signal_all(alive, signal.SIGKILL)
    return alive
