"""The job manager: queue + state machine, with no I/O inside.

Every public method is one request (an operator action or a runner report).
It either raises RequestRefused and changes nothing, or applies the request
and returns the effects for the adapters to carry out. Every decision about
jobs is taken here: ids, batches, where jobs go, estimates that arrive late,
how a job's end moves the queue. The rules themselves are the tables of
``states``. Time comes in as an argument, so it all runs in a unit test.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Iterable

from . import effects as fx
from .errors import RequestRefused, shown
from .queue import BatchTag, Job, JobQueue, Where, is_index
from .spec import JobSpec
from .states import (ENDED_AS, ENDED_QUEUE_EVENT, QUEUE_MODES, WHEN_EMPTY, Event, QueueEvent,
                     QueueState, State, next_queue_state, next_state)

MAX_REPEAT = 1000
Effects = list[fx.Effect]


@dataclass(frozen=True)
class NewJob:
    """A checked job to be queued, with what admission found out about it."""
    spec: JobSpec
    estimate: float | None = None
    estimate_source: str = "unknown"
    pausable: bool = True


@dataclass(frozen=True)
class Estimate:
    """An estimate worked out after the job was queued, for the job as it was then."""
    job_id: int
    revision: int
    seconds: float
    source: str


class JobManager:
    def __init__(self, *, next_id: int = 1, queue: Iterable[Job] = (),
                 history: Iterable[fx.Run] = (), history_length: int = 200,
                 queue_mode: str = "STOP_ON_FAILURE", when_empty: str = "STOP",
                 max_queue: int = 100_000):
        self.state = State.IDLE
        self.queue_state = QueueState.STOPPED
        self.queue_mode = _choice(queue_mode, QUEUE_MODES, "queue mode")
        self.when_empty = _choice(when_empty, WHEN_EMPTY, "policy for an empty queue")
        self.queue = JobQueue(queue)
        self.current: Job | None = None
        self.run: fx.Run | None = None
        self.history: deque[fx.Run] = deque(history, maxlen=history_length)  # newest first
        self.next_id = next_id
        self.max_queue = max_queue                # jobs the queue may hold (limits.queue_length)
        self._resumes_sent = 0                 # resumes sent to the current job
        self._effects: Effects = []

    # -- queue editing -------------------------------------------------------

    def add(self, jobs: list[NewJob], where: Where = Where(), *, batch: str | None = None,
            by: str = "", now: float = 0.0) -> Effects:
        """Queue new jobs with fresh ids (never reused); a batch is tagged as one."""
        if not jobs:
            raise RequestRefused("nothing to add: the list of jobs is empty")
        if len(self.queue) + len(jobs) > self.max_queue:
            raise RequestRefused(
                f"the queue holds {len(self.queue)} job(s) and takes at most {self.max_queue} "
                f"(limits.queue_length): {len(jobs)} more do not fit; remove or run some first")
        at = self.queue.insert_index(where)             # refuse a bad place before taking ids
        first = self.next_id
        tag = BatchTag(first, batch, len(jobs)) if batch is not None else None
        made = [Job(first + i, new.spec, new.estimate, new.estimate_source, new.pausable, by,
                    tag, i + 1 if tag else 0) for i, new in enumerate(jobs)]
        self.next_id = first + len(jobs)
        self.queue.add(made, where)
        ids = tuple(j.id for j in made)
        self._emit(fx.JobsSaved(tuple(made)), fx.QueueChanged("add", ids, at), fx.Added(ids))
        self._advance(now)
        return self._done()

    def move(self, job_id: Any, where: Where) -> Effects:
        self._not_current(job_id, "moved")
        self.queue.move(job_id, where)
        return self._done(fx.QueueChanged("move", (job_id,), self.queue.index(job_id)))

    def remove(self, job_ids: list[Any]) -> Effects:
        for job_id in job_ids:
            self._not_current(job_id, "removed", "abort it instead (JOB:ABORT)")
        self.queue.remove(job_ids)
        return self._done(fx.QueueChanged("remove", tuple(job_ids)))

    def clear(self) -> Effects:
        self.queue.clear()
        return self._done(fx.QueueChanged("clear"))

    def edit(self, job_id: Any, new: NewJob) -> Effects:
        self._not_current(job_id, "edited", "abort it first; it returns to the queue, editable")
        job = self.queue.get(job_id)
        job.spec, job.pausable, job.revision = new.spec, new.pausable, job.revision + 1
        self.queue.set_estimate(job, new.estimate, new.estimate_source)
        return self._done(fx.JobsSaved((job,)),
                          fx.QueueChanged("edit", (job.id,), self.queue.index(job.id)))

    def estimates(self, found: list[Estimate]) -> Effects:
        """Estimates worked out after queueing; one for a job since edited, run or removed
        is stale and dropped (it was for other arguments)."""
        live = {job.id: job for job in self.queue}
        if self.current is not None:
            live[self.current.id] = self.current
        changed = []
        for estimate in found:
            job = live.get(estimate.job_id)
            if job is not None and job.revision == estimate.revision:
                seconds = round(estimate.seconds, 3)
                if job is self.current:
                    job.estimate, job.estimate_source = seconds, estimate.source
                else:
                    self.queue.set_estimate(job, seconds, estimate.source)
                changed.append(job)
        if not changed:
            return []
        return self._done(fx.JobsSaved(tuple(changed)),
                          fx.QueueChanged("estimate", tuple(j.id for j in changed)))

    def repeat(self, job_id: Any, times: Any, by: str = "", now: float = 0.0) -> Effects:
        if not is_index(times) or not 1 <= times <= MAX_REPEAT:
            raise RequestRefused(f'"times" must be a whole number from 1 to {MAX_REPEAT}')
        if self.current is not None and job_id == self.current.id:
            original, where = self.current, Where(pos="front")
        else:
            original, where = self.queue.get(job_id), Where(after=job_id)
        copy = NewJob(original.spec, original.estimate, original.estimate_source,
                      original.pausable)
        return self.add([copy] * times, where, by=by, now=now)

    def skip(self, job_id: Any = None, now: float = 0.0) -> Effects:
        if job_id is None:
            if not len(self.queue):
                raise RequestRefused("the queue is empty: there is no next job to skip")
            job_id = self.queue.ids()[0]
        self._not_current(job_id, "skipped", "abort it instead (JOB:ABORT)")
        job = self.queue.take(job_id)
        run = fx.Run(job.id, job.name, job.kind, job.spec.body, "skipped", now, now,
                     by=job.by)
        self.history.appendleft(run)
        return self._done(fx.QueueChanged("skip", (job.id,)), fx.RunRecorded(run))

    def clear_history(self) -> Effects:
        self.history.clear()
        return self._done(fx.HistoryCleared())

    def set_mode(self, mode: str) -> Effects:
        self.queue_mode = _choice(mode, QUEUE_MODES, "queue mode")
        return self._done(fx.PoliciesSet(self.queue_mode, self.when_empty), fx.StateChanged())

    def set_when_empty(self, policy: str) -> Effects:
        self.when_empty = _choice(policy, WHEN_EMPTY, "policy for an empty queue")
        return self._done(fx.PoliciesSet(self.queue_mode, self.when_empty), fx.StateChanged())

    # -- queue running -------------------------------------------------------

    def start(self, now: float = 0.0) -> Effects:
        state = next_state(self.state, Event.START)
        if self.state is State.IDLE and not len(self.queue) and WHEN_EMPTY[self.when_empty]:
            raise RequestRefused("cannot start the queue: it is empty; add jobs first "
                                 "(QUEUE:ADD), or set QUEUE:WHEN_EMPTY to KEEP_RUNNING to have "
                                 "the queue wait for them")
        self.queue_state = next_queue_state(self.queue_state, QueueEvent.START)
        self.state = state
        self._emit(fx.StateChanged())
        self._advance(now)
        return self._done()

    def stop(self, now: float = 0.0) -> Effects:
        """Let the current job finish, then stop (a held queue stops at once)."""
        self.queue_state = next_queue_state(self.queue_state, QueueEvent.STOP)
        self.state = next_state(self.state, Event.STOP)
        self._emit(fx.StateChanged())
        self._advance(now)
        return self._done()

    # -- job control ---------------------------------------------------------

    def pause(self, now: bool = False) -> Effects:
        event = Event.PAUSE_NOW if now else Event.PAUSE
        target = next_state(self.state, event)
        if event is Event.PAUSE and self.current is not None and not self.current.pausable:
            raise RequestRefused(
                f"job {self.current.id} has no pause points (it does not call pause_point() "
                "or have a '# pause' line), so it cannot pause when it is safe to; use "
                "JOB:PAUSE:NOW to pause at its next line, or JOB:ABORT")
        self.state = target
        return self._done(fx.Control(event), fx.StateChanged())

    def resume(self, now: float = 0.0) -> Effects:
        held = self.state is State.HELD
        self.state = next_state(self.state, Event.RESUME)
        if held:
            self._emit(fx.StateChanged())
            self._advance(now)
            return self._done()
        assert self.run is not None
        self.run.release(now)
        self._resumes_sent += 1
        return self._done(fx.Control(Event.RESUME), fx.StateChanged())

    def abort(self) -> Effects:
        self.state = next_state(self.state, Event.ABORT)
        return self._done(fx.Control(Event.ABORT), fx.StateChanged())

    def halt(self) -> Effects:
        self.state = next_state(self.state, Event.HALT)
        return self._done(fx.Control(Event.HALT), fx.StateChanged())

    # -- runner reports (never refused: a stale one changes nothing) -------------

    def job_paused(self, resumes_seen: int = 0, now: float = 0.0) -> Effects:
        """The job holds. If it had not yet read every resume sent, the report is stale:
        the job goes on at once, so it never was paused."""
        if self.run is None or resumes_seen < self._resumes_sent:
            return []
        return self._report(Event.JOB_PAUSED, now)

    def job_resumed(self, now: float = 0.0) -> Effects:
        if self.run is None:
            return []
        return self._report(Event.JOB_RESUMED, now)

    def job_ended(self, status: str, now: float, *, error: str = "", traceback: str = "",
                  output: str = "") -> Effects:
        """The job's process and everything it started are gone; ``status`` is what the
        process's end says: finished or failed (the operator's abort or halt wins)."""
        if self.current is None or self.run is None:
            return []
        job, run = self.current, self.run
        # Only the operator aborts or halts: a job that reports so on its own was
        # ended from outside (e.g. a SIGTERM someone sent it), which is a failure.
        status = ENDED_AS.get(self.state) or ("finished" if status == "finished" else "failed")
        run.release(now)
        run.status, run.ended = status, now
        run.error, run.traceback, run.output = error, traceback, output
        self.history.appendleft(run)
        self.current, self.run = None, None
        self.state = next_state(self.state, Event.JOB_ENDED)
        self._emit(fx.RunRecorded(run), fx.StateChanged())
        queue_event = ENDED_QUEUE_EVENT.get(status)
        if queue_event is not None:
            self.queue.add([job], "front")            # back at the head, editable
            self._emit(fx.QueueChanged("return", (job.id,), 0))
        elif status == "failed":
            queue_event = QUEUE_MODES[self.queue_mode]
        if queue_event is not None:
            self.queue_state = next_queue_state(self.queue_state, queue_event)
        self._advance(now)
        return self._done()

    # -- inside ----------------------------------------------------------------

    def _report(self, event: Event, now: float) -> Effects:
        assert self.run is not None
        before, self.state = self.state, next_state(self.state, event)
        if self.state is before:
            return self._done()
        if self.state is State.PAUSED:
            self.run.hold(now)
        else:
            self.run.release(now)
        return self._done(fx.StateChanged())

    def _advance(self, now: float) -> None:
        """Start the next job if the queue runs and nothing else does."""
        if self.state is not State.IDLE:
            return
        if self.queue_state is QueueState.STOPPING:
            self.queue_state = next_queue_state(self.queue_state, QueueEvent.DRAINED)
            self._emit(fx.StateChanged())
            return
        if self.queue_state is not QueueState.RUNNING:
            return
        job = self.queue.pop_next()
        if job is None:
            ran_out = WHEN_EMPTY[self.when_empty]
            if ran_out is not None:
                self.queue_state = next_queue_state(self.queue_state, ran_out)
                self._emit(fx.StateChanged())
            return
        self.state = next_state(self.state, Event.LAUNCH)
        self.current = job
        self.run = fx.Run(job.id, job.name, job.kind, job.spec.body, "running", now,
                          by=job.by)
        self._resumes_sent = 0
        self._emit(fx.QueueChanged("start", (job.id,)), fx.StateChanged(),
                   fx.RunRecorded(self.run), fx.Launch(job, self.run))

    def _not_current(self, job_id: Any, done: str, instead: str = "") -> None:
        if self.current is not None and job_id == self.current.id:
            raise RequestRefused(f"job {job_id} is running and cannot be {done}"
                                 + (f"; {instead}" if instead else ""))

    def _emit(self, *effects: fx.Effect) -> None:
        self._effects.extend(effects)

    def _done(self, *effects: fx.Effect) -> Effects:
        self._emit(*effects)
        out, self._effects = self._effects, []
        return out


def _choice(value: Any, table: dict[str, Any], what: str) -> str:
    if value not in table:
        raise RequestRefused(f"unknown {what} {shown(value)}; one of {', '.join(table)}")
    return value
