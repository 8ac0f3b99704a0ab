"""One running job as the IOC sees it: its process, its channel, its requests and reports."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from typing import Any, Callable

from . import reports, tree
from .output import OutputLog

log = logging.getLogger(__name__)

Listener = Callable[[str, dict[str, Any]], None]


def signal_group(pgid: int, sig: int) -> None:
    """Signal a job's process group; a pid not yet leading its group gets the signal alone."""
    if pgid <= 0:
        return              # never killpg(0): that is the IOC's own process group
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        try:
            os.kill(pgid, sig)          # forked, but has not called setsid() yet
        except (ProcessLookupError, PermissionError):
            pass
    except PermissionError:
        pass


class RunningJob:
    """One job process, from fork to the end of everything it started.

    It exists from the moment the job is launched, before the fork server has
    forked it: a request made in between (pause, resume, abort) is kept and
    carried out as soon as the process and its channel exist.

    ``processes`` finds every process the job started (see JobRunner.job_processes).
    """

    def __init__(self, job_id: int, listener: Listener, output: OutputLog,
                 processes: Callable[[], list[int]]):
        self.job_id = job_id
        self.listener = listener
        self.output = output
        self.processes = processes
        self.pid = 0
        self.writer: asyncio.StreamWriter | None = None
        self.aborted: str | None = None         # why the server aborted it
        self.rejected: str | None = None        # why the server stopped it: a bad report
        self.claim: dict[str, Any] | None = None   # its own 'ended' report
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()
        self._unsent: list[bytes] = []
        self._grace = 0.0
        self._kill_timer: asyncio.TimerHandle | None = None
        self._seen: dict[int, int | None] = {}   # pid -> its start time, when last seen
        self.swept = False                       # nothing of it is left (see JobRunner._sweep)

    def remember(self, pids: list[int]) -> None:
        """Processes found to be the job's: known as its own even once their parent exits."""
        for pid in pids:
            if pid not in self._seen:
                self._seen[pid] = tree.start_time(pid)

    def still_running_of_those_seen(self) -> list[int]:
        """Those remembered that still exist, and are the same process (not a new one that
        was given a freed pid)."""
        self._seen = {pid: t for pid, t in self._seen.items()
                      if t is not None and tree.start_time(pid) == t}
        return list(self._seen)

    @property
    def abort_requested(self) -> bool:
        return self.aborted is not None

    def request(self, kind: str) -> None:
        """A request to the job (pause, pause_now, resume), read by its control thread."""
        data = (json.dumps({"t": kind}) + "\n").encode()
        if self.writer is None:
            self._unsent.append(data)
        elif not self.writer.is_closing():
            self.writer.write(data)

    def pause_now(self) -> None:
        # The job signals its own main thread when it reads this, after any earlier
        # request: a resume sent after it cancels it, even if the job is in a long C call.
        self.request("pause_now")

    def connected(self, pid: int, writer: asyncio.StreamWriter, unsent: bytes = b"") -> None:
        """The process exists and its channel is open (the job was sent into it as it was
        asked for, but for ``unsent``): send the rest, then what was asked for meanwhile
        (or, if it was aborted meanwhile, end it: at once if it has not started yet)."""
        self.pid, self.writer = pid, writer
        self.remember([pid])
        if self.aborted is not None:        # aborted while it was being started
            writer.close()
            self._terminate()
            return
        if unsent:
            writer.write(unsent)
        for data in self._unsent:
            writer.write(data)
        self._unsent.clear()

    def abort(self, grace: float, reason: str = "aborted by the operator") -> None:
        if self.aborted is not None or self.rejected is not None:
            return
        self.aborted = reason
        self._grace = grace
        if self.pid:
            self._terminate()

    def halt(self, reason: str) -> None:
        """Kill it and everything it started at once: no SIGTERM, no cleanup."""
        if self.aborted is None:
            self.aborted = reason
        self._grace = 0.0
        self.kill_now()

    def kill_now(self) -> None:
        """Cut the grace short (a halt, a second stop signal)."""
        if self._kill_timer is not None:
            self._kill_timer.cancel()
        if self.pid:
            self._kill()

    def _terminate(self) -> None:
        """SIGTERM to the job and everything it started; SIGKILL when the grace is over."""
        signal_group(self.pid, signal.SIGTERM)
        # once each: a second SIGTERM would interrupt the job's finally: blocks
        tree.signal_all(tree.outside_group(self.processes(), self.pid), signal.SIGTERM)
        if self._kill_timer is None:
            self._kill_timer = asyncio.get_running_loop().call_later(self._grace, self._kill)

    def _kill(self) -> None:
        signal_group(self.pid, signal.SIGKILL)
        tree.signal_all(self.processes(), signal.SIGKILL)

    def _reject(self, reason: str, grace: float) -> None:
        log.warning("job %s: %s", self.job_id, reason)
        if self.rejected is None and self.aborted is None:
            self.rejected = reason
            self._grace = grace
            if self.pid:
                self._terminate()

    def on_report(self, line: bytes, grace: float) -> None:
        """One line from the job: checked, then acted on or passed to the listener."""
        if self.rejected is not None:
            return                            # it is being stopped: nothing it says counts
        try:
            kind, fields = reports.parse(line)
        except reports.BadReport as bad:
            self._reject(str(bad), grace)
            return
        if self.claim is not None:
            return       # after its outcome, a report of a thread still running: ignored
        if kind == "ended":
            self.claim = fields              # recorded once everything it started is gone
        else:
            self.listener(kind, fields)

    async def read_reports(self, reader: asyncio.StreamReader, grace: float) -> None:
        while True:
            try:
                line = await reader.readline()
            except (ValueError, asyncio.LimitOverrunError):
                self._reject(f"a report longer than {reports.MAX_REPORT_BYTES} bytes", grace)
                return
            if not line:
                return
            self.on_report(line, grace)

    async def read_output(self, reader: asyncio.StreamReader) -> None:
        while data := await reader.read(65536):
            self.output.feed(data)
            self.listener("output", {"v": self.output.recent()})

    def stop_timer(self) -> None:
        if self._kill_timer is not None:
            self._kill_timer.cancel()
