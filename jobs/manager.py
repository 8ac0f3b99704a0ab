"""The job manager: queue + state machine, with no I/O inside.

Every public method is one request (an operator action or a runner report).
It either raises RequestRefused and changes nothing, or applies the request
and returns the effects for the adapters to carry out. Time comes in as an
argument, so the whole thing runs in a unit test without a clock.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Iterable

from . import effects as fx
from .errors import RequestRefused
from .queue import Job, JobQueue, Position
from .spec import JobSpec
from .states import QueueState, State, next_queue_state, next_state

QUEUE_MODES = ("STOP_ON_FAILURE", "CONTINUE_ON_FAILURE")
MAX_REPEAT = 1000


class JobManager:
    def __init__(self, *, next_id: int = 1, queue: Iterable[Job] = (),
                 history: Iterable[fx.Run] = (), history_length: int = 200):
        self.state = State.IDLE
        self.queue_state = QueueState.STOPPED
        self.queue_mode = QUEUE_MODES[0]
        self.queue = JobQueue(queue)
        self.current: Job | None = None
        self.run: fx.Run | None = None
        self.history: deque[fx.Run] = deque(history, maxlen=history_length)  # newest first
        self.next_id = next_id
        self._effects: list[Any] = []

    # -- queue editing -------------------------------------------------------

    def new_job(self, spec: JobSpec, **details: Any) -> Job:
        """A job with a fresh id, not yet queued (ids are never reused)."""
        job = Job(self.next_id, spec, **details)
        self.next_id += 1
        return job

    def add(self, jobs: list[Job], pos: Position = None, now: float = 0.0) -> list:
        if not jobs:
            raise RequestRefused("nothing to add: the list of jobs is empty")
        self.queue.add(jobs, pos)
        self._emit(fx.JobsSaved(tuple(jobs)), fx.QueueChanged())
        self._advance(now)
        return self._done()

    def move(self, job_id: Any, pos: Position = None, *, before: Any = None,
             after: Any = None) -> list:
        self._not_current(job_id, "moved")
        self.queue.move(job_id, pos, before=before, after=after)
        return self._done(fx.QueueChanged())

    def remove(self, job_ids: list[Any]) -> list:
        for job_id in job_ids:
            self._not_current(job_id, "removed", "abort it instead (JOB:ABORT)")
        self.queue.remove(job_ids)
        return self._done(fx.QueueChanged())

    def clear(self) -> list:
        self.queue.clear()
        return self._done(fx.QueueChanged())

    def edit(self, job_id: Any, spec: JobSpec, **details: Any) -> list:
        self._not_current(job_id, "edited", "abort it first; it returns to the queue, editable")
        job = self.queue.replace(job_id, spec)
        for key, value in details.items():
            setattr(job, key, value)
        return self._done(fx.JobsSaved((job,)), fx.QueueChanged())

    def repeat(self, job_id: Any, times: Any, now: float = 0.0) -> list:
        if not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= MAX_REPEAT:
            raise RequestRefused(f'"times" must be a whole number from 1 to {MAX_REPEAT}')
        if self.current is not None and job_id == self.current.id:
            original, pos = self.current, 0
        else:
            pos = self.queue.index(job_id) + 1
            original = self.queue.get(job_id)
        copies = [self.new_job(original.spec, estimate=original.estimate,
                               estimate_source=original.estimate_source,
                               pausable=original.pausable) for _ in range(times)]
        return self.add(copies, pos, now)

    def skip(self, job_id: Any = None, now: float = 0.0) -> list:
        if job_id is None:
            if not len(self.queue):
                raise RequestRefused("the queue is empty: there is no next job to skip")
            job_id = self.queue.ids()[0]
        self._not_current(job_id, "skipped", "abort it instead (JOB:ABORT)")
        job = self.queue.take(job_id)
        run = fx.Run(job.id, job.name, job.kind, job.spec.body, "skipped", now, now)
        self.history.appendleft(run)
        return self._done(fx.QueueChanged(), fx.RunRecorded(run))

    def set_mode(self, mode: str) -> list:
        if mode not in QUEUE_MODES:
            raise RequestRefused(f"unknown queue mode {mode!r}; one of {', '.join(QUEUE_MODES)}")
        self.queue_mode = mode
        return self._done(fx.StateChanged())

    # -- queue running -------------------------------------------------------

    def start(self, now: float = 0.0) -> list:
        self.queue_state = next_queue_state(self.queue_state, "start", self.state)
        self._emit(fx.StateChanged())
        self._advance(now)
        return self._done()

    def stop(self, now: float = 0.0) -> list:
        self.queue_state = next_queue_state(self.queue_state, "stop", self.state)
        if self.state is State.PAUSED and self.current is None:
            self.state = next_state(self.state, "release")
        self._emit(fx.StateChanged())
        self._advance(now)
        return self._done()

    # -- job control ---------------------------------------------------------

    def pause(self, now: bool = False) -> list:
        action = "pause_now" if now else "pause"
        target = next_state(self.state, action)
        if not now and self.current is not None and not self.current.pausable:
            raise RequestRefused(
                f"job {self.current.id} is a script with no pause points (it does not use "
                "pause_point() or a '# pause' line), so it cannot pause when it is safe to; "
                "use JOB:PAUSE:NOW to pause at its next line, or JOB:ABORT")
        self.state = target
        return self._done(fx.Control(action), fx.StateChanged())

    def resume(self, now: float = 0.0) -> list:
        if self.state is State.PAUSED and self.current is None:
            self.state = next_state(self.state, "release")
            self._emit(fx.StateChanged())
            self._advance(now)
            return self._done()
        self.state = next_state(self.state, "resume")
        return self._done(fx.Control("resume"), fx.StateChanged())

    def abort(self) -> list:
        if self.current is None:
            raise RequestRefused("cannot abort: no job is running" + (
                " (the queue is held after a pause: JOB:RESUME continues it, QUEUE:STOP "
                "stops it)" if self.state is State.PAUSED else ""))
        self.state = next_state(self.state, "abort")
        return self._done(fx.Control("abort"), fx.StateChanged())

    # -- runner reports ------------------------------------------------------

    def job_paused(self) -> list:
        """The job holds. Only a pause on its way makes that news: in RUNNING the report is
        stale (a resume already overtook it), and the job will report resuming."""
        if self.current is None or self.state is not State.PAUSING:
            return []
        self.state = next_state(self.state, "job_paused")
        return self._done(fx.StateChanged())

    def job_resumed(self) -> list:
        """The job runs again; normally JOB:RESUME already said so."""
        if self.current is None or self.state is not State.PAUSED:
            return []
        self.state = next_state(self.state, "job_resumed")
        return self._done(fx.StateChanged())

    def job_ended(self, status: str, now: float, *, error: str = "", traceback: str = "",
                  output: str = "") -> list:
        """The job's process group is gone; ``status`` is finished, failed or aborted."""
        if self.current is None or self.run is None:
            return []
        job, run = self.current, self.run
        if self.state is State.ABORTING:
            status = "aborted"
        run.status, run.ended = status, now
        run.error, run.traceback, run.output = error, traceback, output
        self.history.appendleft(run)
        self.current, self.run = None, None
        self.state = next_state(self.state, "job_ended")
        self._emit(fx.RunRecorded(run), fx.StateChanged())
        if status == "aborted":
            self.queue.add([job], "front")            # back at the head, editable
            self.queue_state = next_queue_state(self.queue_state, "aborted", self.state)
            self._emit(fx.QueueChanged())
        elif status == "failed" and self.queue_mode == "STOP_ON_FAILURE":
            self.queue_state = next_queue_state(self.queue_state, "failed", self.state)
        self._advance(now)
        return self._done()

    # -- inside ----------------------------------------------------------------

    def _advance(self, now: float) -> None:
        """Start the next job if the queue runs and nothing else does."""
        if self.state is not State.IDLE:
            return
        if self.queue_state is QueueState.STOPPING:
            self.queue_state = next_queue_state(self.queue_state, "drained", self.state)
            self._emit(fx.StateChanged())
            return
        if self.queue_state is not QueueState.RUNNING or not len(self.queue):
            return
        job = self.queue.pop_next()
        assert job is not None
        self.state = next_state(self.state, "launch")
        self.current = job
        self.run = fx.Run(job.id, job.name, job.kind, job.spec.body, "running", now)
        self._emit(fx.QueueChanged(), fx.StateChanged(), fx.RunRecorded(self.run),
                   fx.Launch(job, self.run))

    def _not_current(self, job_id: Any, done: str, instead: str = "") -> None:
        if self.current is not None and job_id == self.current.id:
            raise RequestRefused(f"job {job_id} is running and cannot be {done}"
                                 + (f"; {instead}" if instead else ""))

    def _emit(self, *effects: Any) -> None:
        self._effects.extend(effects)

    def _done(self, *effects: Any) -> list:
        self._emit(*effects)
        out, self._effects = self._effects, []
        return out
