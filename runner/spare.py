"""The spare job process: forked from the warm fork server before a job needs it.

Starting a job is then one message to a process that already runs: the fork server
passes the job's channel and output pipe to the spare, and the spare becomes the job.
The spare has done everything a freshly forked job does first (its own session and
process group, signals as a fresh Python has them, death with the fork server); it
runs none of a job's code until it is given one. A spare is used once. The next is
forked when the job that took it has exited, or REPLACE_AFTER seconds after it took it
if that comes first: not while the job starts, whose first lines would share the CPU
with the fork, and in the time the IOC takes to record the job's end, so it is there
for the next job of a busy queue.

While it waits, the spare carries the name ``tree.SPARE_NAME`` (from the instant of
the fork: the fork server takes that name for the fork, then its own back), so that
the runner's sweep of a job's processes never mistakes it for a stray of the job; it
takes the fork server's own name as it becomes a job.

A spare that has died is noticed when the fork server reaps it (or when handing it a
job fails) and is never used: the job is forked fresh, and another spare is made,
later each time if spares keep dying young (so a broken system is not forked at full
speed). When the fork server is retired (a command-folder reload), its spare goes with
it: a job never starts in a process with the old instrument modules.
"""
from __future__ import annotations

import os
import signal
import socket
import time
from typing import Callable

from . import tree

REPLACE_AFTER = 0.05        # s after a spare became a job, at the latest, the next is forked
YOUNG = 1.0                 # s: a spare that dies younger than this makes the next one wait
FIRST_DELAY = 0.05          # s to wait before replacing a spare that died young; doubled ...
MAX_DELAY = 10.0            # ... each time again, up to this


class Spare:
    """The fork server's side: at most one spare process, made, handed over, replaced."""

    def __init__(self, fork: Callable[[Callable[[], None]], int],
                 become_job: Callable[[list[socket.socket], socket.socket], None]):
        self._fork = fork                   # forks with SIGTERM held back; returns the pid
        self._become_job = become_job       # in the spare: wait for a job, run it, exit
        self.pid = 0                        # 0: no spare now
        self.sock: socket.socket | None = None
        self.due = 0.0                      # time.monotonic() from which to make the next
        self._born = 0.0
        self._delay = 0.0

    def make(self, keep_out: list[socket.socket]) -> None:
        """Fork a spare if there is none and it is time; ``keep_out``: the fork server's
        own sockets, which the spare closes."""
        if self.pid or time.monotonic() < self.due:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        own_name = tree.name(os.getpid()) or "python"
        tree.set_name(tree.SPARE_NAME)
        try:
            pid = self._fork(lambda: self._become_job([ours, *keep_out], theirs))
        except OSError:
            ours.close()
            self._died_young()
            return
        finally:
            tree.set_name(own_name)
            theirs.close()
        self.pid, self.sock, self._born = pid, ours, time.monotonic()

    def hand_over(self, fds: list[int]) -> int | None:
        """Give the spare a job's channel and output pipe: its pid, or None when there is
        no spare or it has died (then fork one fresh). The spare is ours no more."""
        pid, sock = self.pid, self.sock
        if not pid or sock is None:
            return None
        self.pid, self.sock = 0, None
        try:
            socket.send_fds(sock, [b"job"], fds)
        except OSError:                     # it has died (not reaped yet): never used
            if time.monotonic() - self._born < YOUNG:
                self._died_young()
            return None
        finally:
            sock.close()
        self._delay = 0.0
        self.due = time.monotonic() + REPLACE_AFTER
        return pid

    def job_exited(self) -> None:
        """A job's process has exited: the next spare is due now (if none is there)."""
        if not self._delay:
            self.due = min(self.due, time.monotonic())

    def reaped(self, pid: int) -> bool:
        """Whether ``pid``, reaped by the fork server, was the spare (then it is replaced)."""
        if not pid or pid != self.pid:
            return False
        if self.sock is not None:
            self.sock.close()
        self.pid, self.sock = 0, None
        if time.monotonic() - self._born < YOUNG:
            self._died_young()
        else:
            self._delay = 0.0
        return True

    def _died_young(self) -> None:
        self._delay = min(MAX_DELAY, max(FIRST_DELAY, 2 * self._delay))
        self.due = time.monotonic() + self._delay

    def retire(self) -> None:
        """The fork server takes no more jobs: the spare goes now (killed and reaped)."""
        pid, sock = self.pid, self.sock
        self.pid, self.sock = 0, None
        if sock is not None:
            sock.close()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def wait_for_job(sock: socket.socket) -> tuple[int, int]:
    """In the spare: (channel fd, output fd) of its job, once the fork server sends them.
    Exits the process when the fork server has gone or retired it without a job."""
    try:
        data, fds, _, _ = socket.recv_fds(sock, 64, 2)
    except OSError:
        data, fds = b"", []
    sock.close()
    if not data or len(fds) != 2:
        for fd in fds:
            os.close(fd)
        os._exit(0)
    return fds[0], fds[1]
