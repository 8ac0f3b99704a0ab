"""The script server as a service: requests in, effects carried out, topics out.

Glue between the pure manager and its adapters (store, runner, command library).
It decides nothing about jobs: an operator action (ioc/actions.py) or a job's
report becomes a manager request; the effects the manager returns are committed
to the store first, then carried out (launch, control), then published. A
refused request raises RequestRefused having changed nothing, so an accepted put
is on disk when the client hears it completed.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any, Awaitable, Callable, Coroutine

from scriptserver.commands.library import CommandLibrary
from scriptserver.commands.scripts import ScriptFolders
from scriptserver.db.store import Store, StoreUnavailable
from scriptserver.jobs import effects as fx
from scriptserver.jobs.checkpoint import Checkpoint
from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.manager import JobManager
from scriptserver.jobs.queue import Job
from scriptserver.jobs.states import Event
from scriptserver.runner.runner import JobRunner

from .access import Who, need_of
from .admission import Admission
from .blocknames import BlockNames
from .config import Config
from .estimating import Estimator
from .gate import ACTING, Gate
from .pvs import PV, Topic
from .serialized import Serialized, unhexed
from .status import LiveJob, Notes, StatusView
from .validating import Validator

log = logging.getLogger(__name__)

Publish = Callable[[set[Topic]], Awaitable[None]]
STORE_RETRY = 0.5           # s before a job's report the store refused is tried again
STORE_RETRY_MAX = 5.0
COMMAND_POLL = 0.5          # s between checks of the command folders
ELAPSED_TICK = 0.5          # s between P:JOB:ELAPSED updates

EFFECT_TOPICS: dict[type, set[Topic]] = {
    fx.JobsSaved: {Topic.QUEUE},
    fx.QueueChanged: {Topic.QUEUE},
    fx.RunRecorded: {Topic.HISTORY},
    fx.HistoryCleared: {Topic.HISTORY},
    fx.StateChanged: {Topic.STATE},
    fx.PoliciesSet: {Topic.STATE},
    fx.Launch: {Topic.JOB},
    fx.Added: {Topic.ADDED},
}

CONTROLS: dict[Event, Callable[[JobRunner], None]] = {
    Event.PAUSE: lambda runner: runner.pause(now=False),
    Event.PAUSE_NOW: lambda runner: runner.pause(now=True),
    Event.RESUME: lambda runner: runner.resume(),
    Event.ABORT: lambda runner: runner.abort(),
    Event.HALT: lambda runner: runner.halt(),
}


class ScriptServer:
    def __init__(self, config: Config):
        self.config = config
        self.notes = Notes()
        self.limits = config.limits
        self.limits.apply_to_core()
        self.store = Store(config.state_dir / "scriptserver.sqlite", self.limits.store_bytes)
        self.store.prune(self.limits.runs_kept)
        next_id, queue, history = self.store.load(config.history_length)
        gc.freeze()     # what was loaded lives as long as the server: no collection walks it
        for problem in self.store.set_aside:
            self.notes.problem(problem, time.time())
        policies = {"queue_mode": config.queue_mode, "when_empty": config.when_empty,
                    **self.store.policies()}
        self.manager = JobManager(next_id=next_id, queue=queue, history=history,
                                  history_length=config.history_length,
                                  max_queue=self.limits.queue_length, **policies)
        self.scripts = ScriptFolders(config.scripts)
        self.commands = CommandLibrary(config.commands)
        self.blocks = BlockNames()
        self.admission = Admission(self.commands, self.scripts, self.blocks.current,
                                   self.limits.jobs_per_add)
        self.estimator = Estimator(self.store, self.commands)
        self.runner = JobRunner(config.preload, self._on_job_event, config.abort_grace,
                                config.spare_process)
        self.serialized = Serialized()
        self.status = StatusView(self.manager, self.commands, self.serialized, self.notes)
        self.gate = self.status.gate = Gate(config.access, config.prefix)
        self.validator = Validator(self.admission, self.estimator, self.runner, self._payload,
                                   self._show_validation)
        self._publish: Publish | None = None
        self._events: asyncio.Queue = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []

    # -- life ------------------------------------------------------------------

    async def start(self, publish: Publish) -> None:
        self._publish = publish
        # both wait on a process of their own (the fork server importing the preloads, the
        # command folders read in a child): side by side
        preload_errors, _ = await asyncio.gather(self.runner.start(), self.commands.refresh())
        if preload_errors:
            self.notes.problem("preload failed: " + "; ".join(
                f"{name}: {err}" for name, err in preload_errors.items()), time.time())
        self.blocks.start()
        self._tasks = [self.spawn(coro, what) for coro, what in (
            (self._follow_events(), "following jobs"), (self._tick_elapsed(), "elapsed time"),
            (self._watch_commands(), "watching command folders"))]
        self.notes.server_state = "READY"
        await self.publish(set(Topic))

    async def close(self) -> None:
        self.notes.server_state = "STOPPING"
        try:
            await self.publish({Topic.SERVER})
        except Exception as err:  # noqa: BLE001 - stopping goes on whatever a client does
            log.debug("could not publish STOPPING: %s", err)
        for task in self._tasks:
            task.cancel()
        await self.runner.close()
        self.store.close()

    async def shutdown(self, reason: str) -> None:
        """Stop for good: the running job is aborted with its grace and recorded (back at
        the head of the queue) with ``reason``; close() follows."""
        self.notes.server_state = "STOPPING"
        self.runner.stop_launching(reason)
        if self.manager.current is not None:
            try:
                await self.request(lambda m: m.abort())
            except RequestRefused:
                pass                                # already aborting or halting
        await self.runner.shutdown(reason)
        await self._events.join()                   # its end is in the store

    # -- requests --------------------------------------------------------------------

    async def act(self, pv: PV, value: Any, who: Who | None = None) -> None:
        """Carry out a put on a control PV by ``who`` (None: the server itself, unchecked);
        a refusal goes to ERROR and is raised (marked ``reported``, so the CA edge does not
        show it twice)."""
        from .actions import ACTIONS
        acting = ACTING.set(who)
        try:
            if self.notes.server_state != "READY":
                raise RequestRefused(f"the script server is {self.notes.server_state.lower()}; "
                                     "try again when P:SERVER:STATE is READY")
            if who is not None:
                self.gate.admit(who, pv.name, need_of(pv.name, pv.action is not None))
            await ACTIONS[pv.action](self, unhexed(value) if pv.hexed else value)
            log.info("%s by %s", pv.name, who or "the server")
        except StoreUnavailable as unavailable:
            log.info("%s by %s refused", pv.name, who or "the server")
            raise await self._refused(pv, str(unavailable)) from None
        except RequestRefused as refused:
            log.info("%s by %s refused", pv.name, who or "the server")
            raise await self._refused(pv, str(refused)) from None
        except Exception as err:  # noqa: BLE001 - the IOC stays up whatever a put does
            log.exception("%s failed", pv.name)
            raise await self._refused(pv, f"internal error: {err}") from None
        finally:
            ACTING.reset(acting)

    async def _refused(self, pv: PV, reason: str) -> RequestRefused:
        await self.report_error(f"{pv.name}: {reason}")
        refused = RequestRefused(reason)
        refused.reported = True          # type: ignore[attr-defined]
        return refused

    async def request(self, ask: Callable[[JobManager], list[fx.Effect]],
                      topics: set[Topic] | None = None) -> list[fx.Effect]:
        """One manager request, all or nothing: applied to the manager, committed to the
        store, then carried out and published. A refusal (RequestRefused) or a store that
        cannot save it (StoreUnavailable) leaves the manager as it was."""
        with Checkpoint(self.manager) as checkpoint:
            effects = ask(self.manager)
            try:
                self.store.apply(effects, self.manager.next_id, self.manager.queue)
            except StoreUnavailable:
                checkpoint.restore()
                raise
        await self._carry_out(effects, topics)
        return effects

    async def _carry_out(self, effects: list[fx.Effect], topics: set[Topic] | None) -> None:
        """Act on committed effects, then tell the PVs (with any other ``topics``)."""
        topics = set(topics or ())
        for effect in effects:
            topics |= EFFECT_TOPICS.get(type(effect), set())
            if isinstance(effect, fx.Added):
                self.notes.added = effect.ids
            elif isinstance(effect, fx.QueueChanged) and effect.op:
                self.notes.change(effect.op, effect.ids, effect.pos)
            elif isinstance(effect, fx.Launch):
                self._launch(effect.job)
                topics |= {Topic.PROGRESS, Topic.LINE, Topic.MESSAGE, Topic.OUTPUT,
                           Topic.PHASES}
            elif isinstance(effect, fx.Control):
                CONTROLS[effect.action](self.runner)
        await self.publish(topics)

    async def report_error(self, message: str) -> None:
        self.notes.problem(message, time.time())
        log.warning("%s", message)
        await self.publish({Topic.ERROR})

    async def publish(self, topics: set[Topic]) -> None:
        self.serialized.changed(topics)
        if self._publish is not None and topics:
            await self._publish(topics)

    def spawn(self, coro: Coroutine, what: str) -> asyncio.Task:
        """Run a background step; its failure is logged and shown in P:ERROR, never lost."""
        task = asyncio.get_running_loop().create_task(coro)
        task.add_done_callback(lambda done: self._background_done(done, what))
        return task

    def estimate_later(self, jobs: list[Job]) -> None:
        """Ask the commands' own estimate functions; the manager takes what is not stale."""
        async def estimate() -> None:
            found = await self.estimator.from_commands(jobs)
            if found:
                try:
                    await self.request(lambda m: m.estimates(found), {Topic.JOB})
                except StoreUnavailable as err:     # an estimate is a nicety: drop it
                    log.warning("estimates not kept: %s", err)
        if any(job.kind == "command" for job in jobs):
            self.spawn(estimate(), f"estimating {len(jobs)} job(s)")

    # -- jobs ------------------------------------------------------------------------

    def _launch(self, job: Job) -> None:
        self.status.live = LiveJob()
        self.spawn(self.runner.launch(job.id, self._payload(job)), f"running job {job.id}")

    def _payload(self, job: Job) -> dict[str, Any]:
        """What a job process is sent: the job and what it needs to run (or dry-run) it."""
        payload: dict[str, Any] = {"job": job.describe(),
                                   "command_folders": [str(f) for f in self.config.commands],
                                   "script_folders": [str(f) for f in self.config.scripts],
                                   "line_interval": self.config.line_interval}
        if job.kind != "command":
            payload["script_name"] = job.spec.body.get("script_file", "the script")
            if self.admission.found_clean(job.spec):
                # checked against these very descriptions already: it needs their names only
                payload.update(checked=True, command_names=self.commands.names())
            else:                       # checked again in the job process, against these
                payload["command_descriptions"] = self.commands.describe()
        return payload

    async def _show_validation(self, result: dict[str, Any]) -> None:
        self.notes.validation = result
        await self.publish({Topic.VALIDATED})

    def _on_job_event(self, kind: str, data: dict[str, Any]) -> None:
        self._events.put_nowait((kind, data))

    async def _follow_events(self) -> None:
        while True:
            kind, data = await self._events.get()
            handle = REPORTS.get(kind)
            try:
                if handle is None:
                    log.debug("ignored a job report of unknown kind %r", kind)
                    continue
                await self._until_stored(handle, kind, data)
            except Exception as err:  # noqa: BLE001 - one bad report must not stop the stream
                log.exception("while handling the job's %r report", kind)
                await self.report_error(f"internal error handling a job's {kind!r} report: {err}")
            finally:
                self._events.task_done()

    async def _until_stored(self, handle: Callable, kind: str, data: dict[str, Any]) -> None:
        """Handle a job's report; while the store cannot save it, keep it and try again
        (a job's end is never lost), saying so in P:ERROR. Reports wait their turn."""
        delay = STORE_RETRY
        while True:
            try:
                await handle(self, data)
            except StoreUnavailable as err:
                if self.notes.server_state == "STOPPING":
                    # the run stays 'running' in the store: the next start records it as
                    # interrupted and puts the job back at the head of the queue
                    log.error("stopping with a job's %r report unsaved (%s); the next start "
                              "records the job as interrupted", kind, err)
                    return
                await self.report_error(f"a job's {kind!r} report is kept until the store can "
                                        f"save it (trying again every {delay:g} s): {err}")
            else:
                if delay > STORE_RETRY:
                    await self.report_error(f"the store saves again; the job's {kind!r} "
                                            "report is recorded")
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, STORE_RETRY_MAX)

    async def _paused(self, data: dict[str, Any]) -> None:
        await self.request(lambda m: m.job_paused(int(data.get("resumes", 0)), time.time()),
                           {Topic.ELAPSED})

    async def _resumed(self, data: dict[str, Any]) -> None:
        await self.request(lambda m: m.job_resumed(time.time()), {Topic.ELAPSED})

    async def _live(self, data: dict[str, Any], field: str, topic: Topic) -> None:
        setattr(self.status.live, field, data["v"])
        await self.publish({topic})

    async def _line(self, data: dict[str, Any]) -> None:
        self.status.live.line, self.status.live.stack = data["line"], data.get("stack", [])
        await self.publish({Topic.LINE})

    async def _ended(self, outcome: dict[str, Any]) -> None:
        job = self.manager.current
        ended = time.time()                      # kept when the store makes it wait
        outcome.setdefault("ended_at", ended)
        topics = {Topic.JOB, Topic.PROGRESS, Topic.LINE, Topic.MESSAGE, Topic.OUTPUT,
                  Topic.PHASES}
        effects = await self.request(lambda m: m.job_ended(
            outcome.get("status", "failed"), outcome["ended_at"],
            error=outcome.get("error", ""), traceback=outcome.get("traceback", ""),
            output=self.limits.kept_output(outcome.get("output", ""))), topics)
        run = next((e.run for e in effects if isinstance(e, fx.RunRecorded)), None)
        if job is not None and run is not None and run.status == "failed":
            await self.report_error(f"job {job.id} ({job.name}) failed: {run.error}")
        if self.manager.current is None:
            self.status.live = LiveJob()
            # with JOB: the job is gone, so this is shown at once, not held like its reports
            await self.publish({Topic.JOB, Topic.PROGRESS, Topic.LINE, Topic.MESSAGE,
                                Topic.OUTPUT, Topic.PHASES})

    async def _runner_error(self, data: dict[str, Any]) -> None:
        await self.report_error(str(data.get("error", "the job runner reported a problem")))

    def _background_done(self, task: asyncio.Task, what: str) -> None:
        if task.cancelled() or task.exception() is None:
            return
        err = task.exception()
        log.error("%s failed", what, exc_info=err)
        self.notes.problem(f"internal error while {what}: {type(err).__name__}: {err}",
                           time.time())
        if self._publish is not None:
            asyncio.get_running_loop().create_task(self.publish({Topic.ERROR}))

    async def _tick_elapsed(self) -> None:
        while True:
            await asyncio.sleep(ELAPSED_TICK)
            if self.manager.current is not None:
                await self.publish({Topic.ELAPSED})

    # -- commands --------------------------------------------------------------------

    async def _watch_commands(self) -> None:
        while True:
            await asyncio.sleep(COMMAND_POLL)
            try:
                if self.commands.changed():
                    await self.refresh_commands()
            except Exception as err:  # noqa: BLE001 - keep watching whatever a file does
                log.exception("while reloading commands")
                await self.report_error(f"reloading the command folders failed: {err}")

    async def refresh_commands(self, force: bool = False) -> None:
        changed = await self.commands.refresh()
        if changed or force:
            await self.runner.restart_forkserver()   # no stale instrument modules in new jobs
            await self.publish({Topic.COMMANDS})


# A job's reports: what each becomes (the runner has checked their shape).
REPORTS: dict[str, Callable[[ScriptServer, dict[str, Any]], Awaitable[None]]] = {
    "ended": ScriptServer._ended,
    "paused": ScriptServer._paused,
    "resumed": ScriptServer._resumed,
    "line": ScriptServer._line,
    "progress": lambda s, d: s._live(d, "progress", Topic.PROGRESS),
    "message": lambda s, d: s._live(d, "message", Topic.MESSAGE),
    "output": lambda s, d: s._live(d, "output", Topic.OUTPUT),
    "phases": lambda s, d: s._live(d, "phases", Topic.PHASES),
    "error": ScriptServer._runner_error,
}
