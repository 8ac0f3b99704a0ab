"""Starts and controls job processes; turns what they report into events.

The IOC side of the fork server (see forkserver.py). Each job gets a channel
(a stream socket carrying JSON lines both ways) and an output pipe. A job has
ended when its process has exited *and* its whole process group is gone, so
nothing it started can still be running when the next job starts.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import signal
import socket
import sys
from typing import Any, Callable, Coroutine

from .output import OutputLog

log = logging.getLogger(__name__)

GROUP_GONE_TIMEOUT = 5.0
Listener = Callable[[str, dict[str, Any]], None]


class LauncherDied(Exception):
    pass


class ForkServer:
    """One warm parent process and the socket to it."""

    def __init__(self, preload: list[str]):
        self.preload = preload
        self.sock: socket.socket | None = None
        self.process: asyncio.subprocess.Process | None = None
        self.ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self._forks: dict[int, asyncio.Future] = {}
        self._exits: dict[int, asyncio.Future] = {}
        self.alive = False

    async def start(self) -> dict[str, str]:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "scriptserver.runner.forkserver", str(theirs.fileno()),
            json.dumps(self.preload), pass_fds=[theirs.fileno()], stdin=asyncio.subprocess.DEVNULL)
        theirs.close()
        ours.setblocking(False)
        self.sock = ours
        self.alive = True
        asyncio.get_running_loop().add_reader(ours.fileno(), self._readable)
        return await asyncio.wait_for(self.ready, 60)

    def _readable(self) -> None:
        assert self.sock is not None
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._died()
            return
        message = json.loads(data)
        if "ready" in message:
            if message["preload_errors"]:
                log.error("preload failed: %s", message["preload_errors"])
            self.ready.set_result(message["preload_errors"])
        elif "started" in message:
            self._forks.pop(message["started"]).set_result(message["pid"])
        elif "exited" in message:
            self._exits.setdefault(message["exited"], _future()).set_result(message["status"])

    def _died(self) -> None:
        self.alive = False
        if self.sock is not None:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
        for future in list(self._forks.values()) + list(self._exits.values()):
            if not future.done():
                future.set_exception(LauncherDied("the job launcher (fork server) stopped"))
        if not self.ready.done():
            self.ready.set_exception(LauncherDied("the job launcher (fork server) did not start"))

    async def fork(self, job_id: int, channel_fd: int, output_fd: int) -> int:
        assert self.sock is not None
        future = self._forks[job_id] = _future()
        socket.send_fds(self.sock, [json.dumps({"job": job_id}).encode()], [channel_fd, output_fd])
        return await future

    def exited(self, pid: int) -> asyncio.Future:
        return self._exits.setdefault(pid, _future())

    async def retire(self) -> None:
        """No new jobs; the process exits once its running jobs have ended."""
        if self.sock is not None and self.alive:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            self.alive = False

    async def kill(self) -> None:
        await self.retire()
        if self.process and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


def _future() -> asyncio.Future:
    return asyncio.get_running_loop().create_future()


def exit_reason(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"the job process was killed by signal {signal.Signals(-code).name}"
    return f"the job process exited with status {code} before reporting an outcome"


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


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
    """One job process, from fork to the end of its process group.

    It exists from the moment the job is launched, before the fork server has
    forked it: a request made in between (pause, resume, abort) is kept and
    carried out as soon as the process and its channel exist.
    """

    def __init__(self, job_id: int, listener: Listener, output: OutputLog):
        self.job_id = job_id
        self.listener = listener
        self.output = output
        self.pid = 0
        self.writer: asyncio.StreamWriter | None = None
        self.abort_requested = False
        self.outcome: dict[str, Any] | None = None
        self._unsent: list[bytes] = []
        self._grace = 0.0
        self._kill_timer: asyncio.TimerHandle | None = None

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

    def connected(self, pid: int, writer: asyncio.StreamWriter, payload: dict[str, Any]) -> None:
        """The process exists and its channel is open: send the job, then what was asked
        for meanwhile (or, if it was aborted meanwhile, end it before it starts)."""
        self.pid, self.writer = pid, writer
        if self.abort_requested:            # aborted while forking: the job never starts
            writer.close()
            self._terminate()
            return
        writer.write((json.dumps(payload) + "\n").encode())
        for data in self._unsent:
            writer.write(data)
        self._unsent.clear()

    def abort(self, grace: float) -> None:
        if self.abort_requested:
            return
        self.abort_requested = True
        self._grace = grace
        if self.pid:
            self._terminate()

    def halt(self) -> None:
        self.abort_requested = True
        self._grace = 0.0
        if self.pid:
            signal_group(self.pid, signal.SIGKILL)

    def _terminate(self) -> None:
        signal_group(self.pid, signal.SIGTERM)
        self._kill_timer = asyncio.get_running_loop().call_later(
            self._grace, signal_group, self.pid, signal.SIGKILL)

    def on_message(self, message: dict[str, Any]) -> None:
        kind = message.pop("t", None)
        if kind == "ended":
            self.outcome = message            # reported once the process group is gone
            return
        if kind:
            self.listener(kind, message)

    async def read_messages(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            try:
                self.on_message(json.loads(line))
            except ValueError:
                log.warning("job %s sent something that is not JSON: %r", self.job_id, line[:200])

    async def read_output(self, reader: asyncio.StreamReader) -> None:
        while data := await reader.read(65536):
            self.output.feed(data)
            self.listener("output", {"v": self.output.recent()})

    async def wait_group_gone(self) -> None:
        signal_group(self.pid, signal.SIGKILL)      # leftovers of a job that ended
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GROUP_GONE_TIMEOUT
        while self.pid > 0 and group_alive(self.pid) and loop.time() < deadline:
            await asyncio.sleep(0.002)
        if self._kill_timer is not None:
            self._kill_timer.cancel()


class JobRunner:
    """Runs one job at a time through the fork server and reports what happens."""

    def __init__(self, preload: list[str], listener: Listener, abort_grace: float = 3.0):
        self.preload = preload
        self.listener = listener
        self.abort_grace = abort_grace
        self.forkserver: ForkServer | None = None
        self.job: RunningJob | None = None
        self._retired: list[ForkServer] = []
        self._dry_run_ids = itertools.count(-1, -1)   # never a real job's id
        self._dry_runs = 0                               # dry runs under way

    async def start(self) -> dict[str, str]:
        self.forkserver = ForkServer(self.preload)
        return await self.forkserver.start()

    async def restart_forkserver(self) -> None:
        """Fresh modules for the next job; a running job finishes in its old parent."""
        old = self.forkserver
        await self.start()
        if old is not None:
            self._retired.append(old)
            if self.job is None:
                await self._drop_retired()

    async def _drop_retired(self) -> None:
        if self.job is not None or self._dry_runs:
            return                      # a retired fork server still reports their ends
        while self._retired:
            await self._retired.pop().retire()

    def launch(self, job_id: int, payload: dict[str, Any]) -> Coroutine[Any, Any, None]:
        """The job becomes the running one now; await the result to fork it and follow it
        to its end (reported as an 'ended' event).

        Not a coroutine function on purpose: a pause or abort asked for before the
        returned coroutine first runs must already find the job here.
        """
        running = self.job = RunningJob(job_id, self.listener, OutputLog())
        return self._follow(running, payload)

    async def _follow(self, running: RunningJob, payload: dict[str, Any]) -> None:
        job_id = running.job_id
        outcome: dict[str, Any]
        try:
            outcome = await self._run(running, payload)
        except LauncherDied as err:
            outcome = {"status": "failed", "error": f"{err}; it was restarted"}
            await self.start()
        except Exception as err:  # noqa: BLE001 - the IOC must outlive any job failure
            log.exception("job %s could not be run", job_id)
            outcome = {"status": "failed", "error": f"the job could not be started: {err}"}
        if self.job is running:
            self.job = None
        await self._drop_retired()
        outcome["output"] = running.output.text()
        self.listener("ended", outcome)

    async def _run(self, running: RunningJob, payload: dict[str, Any]) -> dict[str, Any]:
        if self.forkserver is None or not self.forkserver.alive:
            await self.start()
        assert self.forkserver is not None
        forkserver = self.forkserver
        if running.abort_requested:
            return {"status": "failed", "error": "ended by the operator before it started"}
        ours, theirs = socket.socketpair()
        out_r, out_w = os.pipe()
        try:
            pid = await forkserver.fork(running.job_id, theirs.fileno(), out_w)
        finally:
            theirs.close()
            os.close(out_w)
        exited = forkserver.exited(pid)
        reader, writer = await asyncio.open_unix_connection(sock=ours, limit=2**24)
        running.connected(pid, writer, payload)
        output = asyncio.StreamReader(limit=2**20)
        await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(output), os.fdopen(out_r, "rb", 0))
        readers = [asyncio.ensure_future(running.read_messages(reader)),
                   asyncio.ensure_future(running.read_output(output))]
        status = await exited
        await running.wait_group_gone()
        await asyncio.wait(readers, timeout=1.0)
        for task in readers:
            task.cancel()
        running.writer.close()
        outcome = running.outcome or {"status": "failed", "error": exit_reason(status)}
        if running.abort_requested:           # the manager records it as aborted or halted
            outcome.setdefault("error", "ended by the operator")
        return outcome

    async def dry_run(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Run a job as a dry run through the same fork server, beside (never as) the
        running job: what it reports is kept in its outcome, not told to the listener.
        Cancelling this ends the dry run's process group at once."""
        reports: dict[str, Any] = {}
        running = RunningJob(next(self._dry_run_ids), lambda kind, data: reports.update(
            {kind: data.get("v", data)}), OutputLog())
        self._dry_runs += 1
        try:
            outcome = await self._run(running, {**payload, "dry_run": True})
        except asyncio.CancelledError:
            running.abort(0.0)
            raise
        except LauncherDied as err:
            outcome = {"status": "failed", "error": str(err)}
        finally:
            self._dry_runs -= 1
        await self._drop_retired()
        outcome["output"] = running.output.text()
        outcome["phases"] = reports.get("phases", [])
        return outcome

    # -- control of the running job ------------------------------------------

    def pause(self, now: bool) -> None:
        if self.job is not None:
            self.job.pause_now() if now else self.job.request("pause")

    def resume(self) -> None:
        if self.job is not None:
            self.job.request("resume")

    def abort(self) -> None:
        if self.job is not None:
            self.job.abort(self.abort_grace)

    def halt(self) -> None:
        """Kill the job and everything it started now: no grace for its cleanup."""
        if self.job is not None:
            self.job.halt()

    async def close(self) -> None:
        for forkserver in [self.forkserver, *self._retired]:
            if forkserver is not None:
                await forkserver.kill()
