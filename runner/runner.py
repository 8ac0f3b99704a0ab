"""Starts and controls job processes; turns what they report into events.

Each job gets a channel (a stream socket carrying JSON lines both ways) and an
output pipe, and is forked by a warm fork server (launcher.py, forkserver.py); as a
rule its process is the fork server's spare, forked ahead (spare.py). The job is asked
for and sent at once, as it is launched: it starts while the IOC publishes its start.
A job has ended when its process has exited *and* everything it started is gone
(its process group, and any process it started in a session of its own: see
tree.py), so nothing of it can still be running when the next job starts.

Every launched job ends with exactly one ``ended`` event, whatever fails around
it. A failure of the runner's own (a launcher that cannot be restarted, a step
that raised) is logged and reported as an ``error`` event, never lost.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import signal
import socket
from dataclasses import dataclass
from typing import Any, Coroutine

from . import reports, tree
from .job import Listener, RunningJob, signal_group
from .launcher import ForkServer, LauncherDied
from .outcome import decide, failed
from .output import OutputLog

log = logging.getLogger(__name__)

TRACK_INTERVAL = 0.5        # s between looks at what a running job has started
GONE_TIMEOUT = 5.0          # s for a killed job's processes to be gone (and reaped)
READERS_TIMEOUT = 10.0      # s to read the last reports and output once the processes are gone:
                            # with every process gone both reach their end at once; only a
                            # starved event loop takes long, and its "ended" must not be lost


@dataclass
class Starting:
    """A job's process, asked for: its pid to come, the runner's end of its channel (the
    job already sent into it, but for ``unsent``), the read end of its output pipe."""

    forkserver: ForkServer
    pid: asyncio.Future
    channel: socket.socket
    output_fd: int
    unsent: bytes

    def close(self) -> None:
        self.channel.close()
        os.close(self.output_fd)


class JobRunner:
    """Runs one job at a time through the fork server and reports what happens."""

    def __init__(self, preload: list[str], listener: Listener, abort_grace: float = 3.0,
                 spare: bool = True):
        self.preload = preload
        self.spare = spare                         # a spare job process forked ahead
        self.listener = listener
        self.abort_grace = abort_grace
        self.forkserver: ForkServer | None = None
        self.job: RunningJob | None = None
        self.stopping: str | None = None           # why the server is stopping, once it is
        self._retired: list[ForkServer] = []
        self._launchers: list[ForkServer] = []     # every fork server not yet reaped
        self._spawning = asyncio.Lock()            # a fork server whose pid is not known yet
        self._active: dict[int, RunningJob] = {}   # job processes (the job, dry runs) by pid
        self._dry_run_ids = itertools.count(-1, -1)   # never a real job's id
        self._dry_runs = 0                               # dry runs under way

    async def start(self) -> dict[str, str]:
        """Start a fresh fork server; its preload errors by module."""
        # Orphans of a job whose fork server died become ours, not init's: see tree.py.
        tree.become_subreaper()
        forkserver = ForkServer(self.preload, self.spare)
        async with self._spawning:
            await forkserver.spawn()
            self._launchers = [f for f in self._launchers if f.pid is not None] + [forkserver]
        self.forkserver = forkserver
        return await forkserver.wait_ready()

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

    # -- a job's processes ---------------------------------------------------------

    def job_processes(self, running: RunningJob) -> list[int]:
        return self._job_processes(running, orphans=not self._spawning.locked())

    def _job_processes(self, running: RunningJob, orphans: bool) -> list[int]:
        """Every process of ``running``: the job process and all below it; what lost its
        parent (then a child of a fork server, or, if the fork server died, ours) and is
        in the job's session or process group, or was seen below the job before (see
        _track); and, when no other job (a dry run) runs beside it, every such stray.

        While a fork server is being started its pid is not known yet: our own children
        are left for the next look then (``orphans`` False; see _sweep)."""
        if running.pid <= 0:
            return []
        launchers = {f.pid for f in self._launchers} - {None}
        strays = [pid for launcher in launchers for pid in tree.children(launcher)
                  if pid not in self._active and not tree.is_spare(pid)]
        if orphans:
            ours = os.getsid(0)
            strays += [pid for pid in tree.children(os.getpid())
                       if pid not in launchers and pid not in self._active
                       and tree.session(pid) not in (ours, None)]
        alone = all(job is running for job in self._active.values())
        seen = running.still_running_of_those_seen()     # the job process among them
        found = set(seen)
        for pid in strays:
            if alone or pid in seen or running.pid in (tree.session(pid), tree.group(pid)):
                found.add(pid)
        found |= set(tree.descendants(found))
        return sorted(found)

    async def _track(self, running: RunningJob) -> None:
        """Remember what the job has started, so that a process whose parent exits (and
        so lands below the fork server) is still known as the job's. (The first look is
        after TRACK_INTERVAL: a job that short has its end swept in full anyway.)"""
        while True:
            await asyncio.sleep(TRACK_INTERVAL)
            running.remember(self.job_processes(running))

    async def _sweep(self, running: RunningJob) -> bool:
        """Kill whatever is left of the job, until nothing is (zombies reaped); whether
        nothing is (False: given up after GONE_TIMEOUT, and reported)."""
        signal_group(running.pid, signal.SIGKILL)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GONE_TIMEOUT
        while True:
            async with self._spawning:
                alive = tree.kill_step(self._job_processes(running, orphans=True),
                                       reap_own=True)
            group = running.pid > 0 and not tree.group_gone(running.pid)
            if not alive and not group:
                return True
            if loop.time() > deadline:
                self._error(f"job {running.job_id}: processes {alive or running.pid} are still "
                            f"there {GONE_TIMEOUT} s after being killed")
                return False
            await asyncio.sleep(0.002)

    # -- running a job -------------------------------------------------------------

    def launch(self, job_id: int, payload: dict[str, Any]) -> Coroutine[Any, Any, None]:
        """The job becomes the running one now; await the result to fork it and follow it
        to its end (reported as exactly one 'ended' event).

        Not a coroutine function on purpose: a pause or abort asked for before the
        returned coroutine first runs must already find the job here.
        """
        running = self.job = self._new_job(job_id, self.listener)
        if self.stopping is not None:
            running.abort(self.abort_grace, self.stopping)
        return self._follow(running, payload, self._start_now(running, payload))

    def _start_now(self, running: RunningJob, payload: dict[str, Any]) -> Starting | None:
        """The job's process asked for and the job sent, before this returns, when the
        fork server is there (else, or if asking fails, _run asks, and reports a failure)."""
        forkserver = self.forkserver
        if running.aborted is not None or forkserver is None or not forkserver.alive:
            return None
        try:
            return self._ask(forkserver, running, payload)
        except Exception as err:  # noqa: BLE001 - _run asks again, and reports what fails
            log.info("job %s: its process is asked for again (%s)", running.job_id, err)
            return None

    @staticmethod
    def _ask(forkserver: ForkServer, running: RunningJob, payload: dict[str, Any]) -> Starting:
        """One message to the fork server, with the job's channel and output pipe; the job
        goes into its channel now (what does not fit the socket's buffer waits in
        ``unsent``), so the process runs it as soon as it has it."""
        ours, theirs = socket.socketpair()
        out_r, out_w = os.pipe()
        try:
            ours.setblocking(False)
            data = (json.dumps(payload) + "\n").encode()
            try:
                sent = ours.send(data)
            except BlockingIOError:
                sent = 0
            pid = forkserver.start_job(running.job_id, theirs.fileno(), out_w)
        except BaseException:
            ours.close()
            os.close(out_r)
            raise
        finally:
            theirs.close()
            os.close(out_w)
        return Starting(forkserver, pid, ours, out_r, data[sent:])

    def _new_job(self, job_id: int, listener: Listener) -> RunningJob:
        running = RunningJob(job_id, listener, OutputLog(), lambda: [])
        running.processes = lambda: self.job_processes(running)
        return running

    async def _follow(self, running: RunningJob, payload: dict[str, Any],
                      starting: Starting | None) -> None:
        outcome = failed("the job's runner stopped unexpectedly")
        launcher_died = False
        try:
            outcome = await self._run(running, payload, starting)
        except LauncherDied as err:
            launcher_died = True
            outcome = failed(f"{err} while the job ran; it was restarted")
        except Exception as err:  # noqa: BLE001 - the IOC must outlive any job failure
            self._error(f"job {running.job_id} could not be run: {err}", exc=True)
            outcome = failed(f"the job could not be started: {err}")
        finally:
            await self._end(running, outcome, launcher_died)

    async def _end(self, running: RunningJob, outcome: dict[str, Any],
                   launcher_died: bool) -> None:
        """Whatever happened: nothing of the job left, a launcher for the next, one 'ended'."""
        try:
            if not running.swept:           # _run did not get to it: something failed
                await self._sweep(running)
            running.stop_timer()
            if launcher_died and self.stopping is None:
                await self.start()
            if self.job is running:
                self.job = None
            await self._drop_retired()
        except Exception as err:  # noqa: BLE001 - the job must still be reported ended
            self._error(f"after job {running.job_id} ended: {err}", exc=True)
        finally:
            if self.job is running:
                self.job = None
            outcome["output"] = running.output.text()
            if not running.done.done():
                running.done.set_result(None)
            self.listener("ended", outcome)

    async def _run(self, running: RunningJob, payload: dict[str, Any],
                   starting: Starting | None = None) -> dict[str, Any]:
        if starting is None:
            if running.aborted is not None:
                return {"status": "failed", "error": f"{running.aborted} before it started"}
            if self.forkserver is None or not self.forkserver.alive:
                await self.start()
            assert self.forkserver is not None
            if running.aborted is not None:
                return {"status": "failed", "error": f"{running.aborted} before it started"}
            starting = self._ask(self.forkserver, running, payload)
        try:
            pid = await starting.pid
        except BaseException:
            starting.close()
            raise
        exited = starting.forkserver.exited(pid)
        reader, writer = await asyncio.open_unix_connection(sock=starting.channel,
                                                            limit=reports.MAX_REPORT_BYTES)
        self._active[pid] = running
        running.connected(pid, writer, starting.unsent)
        output = asyncio.StreamReader(limit=2**20)
        await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(output), os.fdopen(starting.output_fd, "rb", 0))
        readers = [self._watch(running.read_reports(reader, self.abort_grace), "its reports"),
                   self._watch(running.read_output(output), "its output")]
        tracking = self._watch(self._track(running), "what it started")
        try:
            status = await exited
            tracking.cancel()
            running.swept = await self._sweep(running)
            await asyncio.wait(readers, timeout=READERS_TIMEOUT)
        finally:
            tracking.cancel()
            for task in readers:
                task.cancel()
            writer.close()
            self._active.pop(pid, None)
        return decide(running.claim, status, aborted=running.aborted, rejected=running.rejected)

    async def dry_run(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Run a job as a dry run through the same fork server, beside (never as) the
        running job: what it reports is kept in its outcome, not told to the listener.
        Cancelling this ends the dry run and everything it started at once."""
        reports: dict[str, Any] = {}
        running = self._new_job(next(self._dry_run_ids), lambda kind, data: reports.update(
            {kind: data.get("v", data)}))
        self._dry_runs += 1
        try:
            outcome = await self._run(running, {**payload, "dry_run": True})
        except asyncio.CancelledError:
            running.halt("the dry run was cancelled")
            raise
        except LauncherDied as err:
            outcome = failed(str(err))
        finally:
            self._dry_runs -= 1
        await self._drop_retired()
        outcome["output"] = running.output.text()
        outcome["phases"] = reports.get("phases", [])
        return outcome

    def _watch(self, coro: Coroutine, what: str) -> asyncio.Task:
        """A background task whose failure is reported, not lost."""
        task = asyncio.ensure_future(coro)

        def done(task: asyncio.Task) -> None:
            if not task.cancelled() and task.exception() is not None:
                err = task.exception()
                self._error(f"while reading {what}: {type(err).__name__}: {err}", exc=err)
        task.add_done_callback(done)
        return task

    def _error(self, text: str, exc: BaseException | bool = False) -> None:
        """A failure of the runner's own: in the log (with its traceback) and to the listener."""
        log.error("%s", text, exc_info=exc or None)
        try:
            self.listener("error", {"error": text})
        except Exception:  # noqa: BLE001 - the listener failing too: the log has it
            log.exception("while reporting a runner error")

    # -- control of the running job ------------------------------------------

    def pause(self, now: bool) -> None:
        if self.job is not None:
            self.job.pause_now() if now else self.job.request("pause")

    def resume(self) -> None:
        if self.job is not None:
            self.job.request("resume")

    def abort(self) -> None:
        if self.job is not None:
            self.job.abort(self.abort_grace, self.stopping or "aborted by the operator")

    def halt(self) -> None:
        """Kill the job and everything it started now: no grace for its cleanup."""
        if self.job is not None:
            self.job.halt("halted by the operator")

    # -- stopping ----------------------------------------------------------------

    def stop_launching(self, reason: str) -> None:
        """The server is stopping: no job starts any more, and an abort says ``reason``."""
        self.stopping = reason

    async def shutdown(self, reason: str) -> None:
        """The server stops: the running job gets its grace (recorded aborted, with
        ``reason``), no job starts any more, then the fork servers go."""
        self.stop_launching(reason)
        running = self.job
        if running is not None:
            running.abort(self.abort_grace, reason)
            await asyncio.shield(running.done)
        await self.close()

    def kill_now(self) -> None:
        """Asked twice to stop: the running job's grace is cut short."""
        if self.job is not None and self.job.pid:
            self.job.kill_now()

    async def close(self) -> None:
        for forkserver in list(self._launchers):
            await forkserver.kill()
        self._launchers.clear()
        self._retired.clear()

