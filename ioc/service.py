"""The script server as a service: operator actions in, runner events in, topics out.

Glue between the pure manager and its adapters (store, runner, command library).
Every operator action either raises RequestRefused, having changed nothing, or
is applied by the manager and committed to the store before it returns, so an
accepted put is on disk when the client hears it completed.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable

from scriptserver.commands.library import CommandLibrary
from scriptserver.db.store import Store
from scriptserver.jobs import effects as fx
from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.manager import JobManager
from scriptserver.jobs.queue import Job
from scriptserver.runner.runner import JobRunner
from scriptserver.commands.scripts import ScriptFolders
from scriptserver.jobs.spec import parse_job, parse_json

from .admission import Admission, request
from .config import Config
from .estimating import Estimator
from .live import LiveJob
from .serialized import Serialized, dumps

log = logging.getLogger(__name__)

Publish = Callable[[set[str]], Awaitable[None]]
COMMAND_POLL = 0.5          # s between checks of the command folders
ELAPSED_TICK = 0.5          # s between P:JOB:ELAPSED updates

# A job's reports: those kept as what it is doing now (the topic is the report's name),
# and those the manager decides on.
LIVE_REPORTS = {"progress": "progress", "message": "message", "output": "output"}
MANAGER_REPORTS = {"paused": JobManager.job_paused, "resumed": JobManager.job_resumed}


class ScriptServer:
    def __init__(self, config: Config):
        self.config = config
        self.store = Store(config.state_dir / "scriptserver.sqlite")
        next_id, queue, history = self.store.load()
        self.manager = JobManager(next_id=next_id, queue=queue, history=history,
                                  history_length=config.history_length)
        self.manager.queue_mode = config.queue_mode
        self.scripts = ScriptFolders(config.scripts)
        self.commands = CommandLibrary(config.commands)
        self.admission = Admission(self.commands, self.scripts)
        self.estimator = Estimator(self.store, self.commands)
        self.runner = JobRunner(config.preload, self._on_job_event, config.abort_grace)
        self.live = LiveJob()
        self.serialized = Serialized()
        self.last_error = ""
        self.last_added: list[int] = []
        self.last_record = ""
        self.last_validation: dict[str, Any] | str = ""
        self._publish: Publish | None = None
        self._events: asyncio.Queue = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._background: set[asyncio.Task] = set()

    # -- life ------------------------------------------------------------------

    async def start(self, publish: Publish) -> None:
        self._publish = publish
        preload_errors = await self.runner.start()
        if preload_errors:
            self.last_error = "preload failed: " + "; ".join(
                f"{name}: {err}" for name, err in preload_errors.items())
        await self.commands.refresh()
        self._tasks = [asyncio.create_task(coro) for coro in
                       (self._follow_events(), self._tick_elapsed(), self._watch_commands())]
        await self._publish_topics({"state", "queue", "job", "history", "commands", "error"})

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.runner.close()
        self.store.close()

    # -- operator actions (one per control PV) -----------------------------------

    async def add(self, value: str) -> list[int]:
        checked, pos, batch = self.admission.jobs(value)
        self.manager.queue.insert_index(pos)          # refuse a bad position before taking ids
        jobs = [self.manager.new_job(spec, **details) for spec, details in checked]
        self.estimator.from_history(jobs)
        if batch is not None:
            for i, job in enumerate(jobs):
                job.extra = {**job.extra, "batch": {"id": jobs[0].id, "name": batch,
                                                    "index": i + 1, "size": len(jobs)}}
        await self._apply(self.manager.add(jobs, pos, time.time()))
        self.last_added = [j.id for j in jobs]
        await self._publish_topics({"added"})
        self._spawn(self._estimate_with_commands(jobs))
        return self.last_added

    async def validate(self, value: str) -> None:
        """Check jobs exactly as QUEUE:ADD would, and estimate them, without queueing."""
        try:
            checked, pos, _ = self.admission.jobs(value)
            self.manager.queue.insert_index(pos)
        except RequestRefused as err:
            self.last_validation = {"valid": False, "error": str(err)}
        else:
            jobs = [Job(0, spec, **details) for spec, details in checked]
            self.estimator.from_history(jobs)
            await self.estimator.from_commands(jobs)
            self.last_validation = {"valid": True, "jobs": [
                {k: j.describe()[k] for k in ("name", "kind", "estimate", "estimate_source",
                                              "pausable")} for j in jobs]}
        await self._publish_topics({"validated"})

    async def start_queue(self, value: Any = None) -> None:
        await self._apply(self.manager.start(time.time()))

    async def stop_queue(self, value: Any = None) -> None:
        await self._apply(self.manager.stop(time.time()))

    async def clear_queue(self, value: Any = None) -> None:
        await self._apply(self.manager.clear())

    async def move(self, value: str) -> None:
        move = request(value, "move", {"id"}, {"pos", "before", "after"})
        await self._apply(self.manager.move(move["id"], move.get("pos"),
                                            before=move.get("before"), after=move.get("after")))

    async def remove(self, value: str) -> None:
        ids = parse_json(value, "the id(s) to remove")
        ids = ids if isinstance(ids, list) else [ids]
        await self._apply(self.manager.remove(ids))

    async def skip(self, value: str) -> None:
        text = value.strip()
        job_id = None if text in ("", "next") else parse_json(text, "the id to skip")
        await self._apply(self.manager.skip(job_id, time.time()))

    async def repeat(self, value: str) -> None:
        repeat = request(value, "repeat", {"id"}, {"times"})
        await self._apply(self.manager.repeat(repeat["id"], repeat.get("times", 1), time.time()))

    async def edit(self, value: str) -> None:
        edit = request(value, "edit", {"id", "job"}, set())
        spec = parse_job(edit["job"])
        await self._apply(self.manager.edit(edit["id"], spec, **self.admission.check(spec)))
        job = self.manager.queue.get(edit["id"])
        self.estimator.from_history([job])
        self._spawn(self._estimate_with_commands([job]))

    async def requeue(self, value: str) -> list[int]:
        data = parse_json(value, "the job to requeue")
        again = request(data if isinstance(data, dict) else {"id": data}, "requeue", {"id"},
                        {"job", "pos"})
        record = self.store.job_record(again["id"]) if isinstance(again["id"], int) else None
        if record is None:
            raise RequestRefused(f"no job has id {again['id']!r}")
        body = again.get("job", record["job"])
        return await self.add(dumps({**body, "pos": again.get("pos", "back")}))

    async def get(self, value: int) -> None:
        record = self.store.job_record(int(value))
        if record is None:
            raise RequestRefused(f"no job has id {value}")
        if self.manager.current is not None and self.manager.current.id == record["id"]:
            record["where"] = "running"
        elif record["id"] in self.manager.queue:
            record["where"] = "queue"
        else:
            record["where"] = "history"
        self.last_record = dumps(record)
        await self._publish_topics({"record"})

    async def pause(self, value: Any = None) -> None:
        await self._apply(self.manager.pause(now=False))

    async def pause_now(self, value: Any = None) -> None:
        await self._apply(self.manager.pause(now=True))

    async def resume(self, value: Any = None) -> None:
        await self._apply(self.manager.resume(time.time()))

    async def abort(self, value: Any = None) -> None:
        await self._apply(self.manager.abort())

    async def set_mode(self, value: Any) -> None:
        await self._apply(self.manager.set_mode(str(value)))

    async def reload_commands(self, value: Any = None) -> None:
        await self._refresh_commands(force=True)

    async def _estimate_with_commands(self, jobs: list[Job]) -> None:
        changed = await self.estimator.from_commands(jobs)
        if changed:
            self.store.apply([fx.JobsSaved(tuple(changed))], self.manager.next_id,
                             self.manager.queue.ids)
            await self._publish_topics({"queue", "job"})

    # -- reporting errors ---------------------------------------------------------

    async def act(self, pv, value: Any) -> None:
        """Carry out a put on a control PV (CA or PVA); a refusal goes to ERROR and is raised."""
        try:
            await getattr(self, pv.action)(value)
        except RequestRefused as refused:
            await self.report_error(f"{pv.name}: {refused}")
            raise
        except Exception as err:  # noqa: BLE001 - the IOC stays up whatever a put does
            log.exception("%s failed", pv.name)
            await self.report_error(f"{pv.name}: internal error: {err}")
            raise RequestRefused(f"internal error: {err}") from None

    async def report_error(self, message: str) -> None:
        self.last_error = message
        log.warning("%s", message)
        await self._publish_topics({"error"})

    # -- inside -------------------------------------------------------------------

    async def _apply(self, effects: list, topics: set[str] | None = None) -> None:
        """Commit, then act, then tell the PVs (with any other ``topics`` that changed)."""
        manager = self.manager
        self.store.apply(effects, manager.next_id, manager.queue.ids)
        topics = set(topics or ())
        for effect in effects:
            topics |= EFFECT_TOPICS.get(type(effect), set())
            if isinstance(effect, fx.Launch):
                self._launch(effect.job, effect.run)
            elif isinstance(effect, fx.Control):
                CONTROLS[effect.action](self.runner)
        await self._publish_topics(topics)

    def _spawn(self, coro) -> None:
        """Run a background step; keep a reference so it is not collected mid-way."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _launch(self, job: Job, run: fx.Run) -> None:
        self.live = LiveJob(started=run.started)
        payload: dict[str, Any] = {"job": job.describe(),
                                   "command_folders": [str(f) for f in self.config.commands],
                                   "line_interval": self.config.line_interval}
        if job.kind == "script_file":
            try:
                payload["script_path"] = str(self.scripts.resolve(job.spec.body["script_file"]))
            except RequestRefused as err:
                payload["script_path"] = ""
                log.warning("job %s: %s", job.id, err)
        self._spawn(self.runner.launch(job.id, payload))

    def _on_job_event(self, kind: str, data: dict[str, Any]) -> None:
        self._events.put_nowait((kind, data))

    async def _follow_events(self) -> None:
        while True:
            kind, data = await self._events.get()
            try:
                await self._handle_event(kind, data)
            except Exception:  # noqa: BLE001 - one bad report must not stop the stream
                log.exception("while handling job event %s", kind)

    async def _handle_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "ended":
            await self._job_ended(data)
        elif kind in MANAGER_REPORTS:
            await self._apply(MANAGER_REPORTS[kind](self.manager))
        elif kind == "line":
            self.live.line, self.live.stack = data["line"], data.get("stack", [])
            await self._publish_topics({"line"})
        elif kind in LIVE_REPORTS:
            setattr(self.live, LIVE_REPORTS[kind], data["v"])
            await self._publish_topics({kind})

    async def _job_ended(self, outcome: dict[str, Any]) -> None:
        job = self.manager.current
        effects = self.manager.job_ended(outcome.get("status", "failed"), time.time(),
                                         error=outcome.get("error", ""),
                                         traceback=outcome.get("traceback", ""),
                                         output=outcome.get("output", ""))
        run = next((e.run for e in effects if isinstance(e, fx.RunRecorded)), None)
        topics = {"job"}
        if job is not None and run is not None and run.status == "failed":
            self.last_error = f"job {job.id} ({job.name}) failed: {run.error}"
            topics.add("error")
        if self.manager.current is None:
            self.live = LiveJob()
        await self._apply(effects, topics)

    async def _tick_elapsed(self) -> None:
        while True:
            await asyncio.sleep(ELAPSED_TICK)
            if self.manager.current is not None:
                await self._publish_topics({"elapsed"})

    async def _watch_commands(self) -> None:
        while True:
            await asyncio.sleep(COMMAND_POLL)
            try:
                if self.commands.changed():
                    await self._refresh_commands()
            except Exception:  # noqa: BLE001 - keep watching whatever a command file does
                log.exception("while reloading commands")

    async def _refresh_commands(self, force: bool = False) -> None:
        changed = await self.commands.refresh()
        if changed or force:
            await self.runner.restart_forkserver()   # no stale instrument modules in new jobs
            await self._publish_topics({"commands"})

    async def _publish_topics(self, topics: set[str]) -> None:
        self.serialized.changed(topics)
        if self._publish is not None and topics:
            await self._publish(topics)

    # -- what status PVs show -------------------------------------------------------

    def current_job(self) -> dict[str, Any] | None:
        job = self.manager.current
        if job is None:
            return None
        return {**job.describe(), "start": self.live.started, "status": self.manager.state.value}



EFFECT_TOPICS: dict[type, set[str]] = {
    fx.JobsSaved: {"queue"},
    fx.QueueChanged: {"queue"},
    fx.RunRecorded: {"history"},
    fx.StateChanged: {"state"},
    fx.Launch: {"job"},
}

CONTROLS: dict[str, Callable[[JobRunner], None]] = {
    "pause": lambda runner: runner.pause(now=False),
    "pause_now": lambda runner: runner.pause(now=True),
    "resume": lambda runner: runner.resume(),
    "abort": lambda runner: runner.abort(),
}

