"""What the manager asks the adapters to do after a request was accepted.

The manager never does I/O: it returns these, and the service applies them in
order (store first, so an accepted request is on disk before anyone sees it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .queue import Job
from .states import Event


@dataclass(frozen=True)
class JobsSaved:
    """New or edited jobs to write to the store."""
    jobs: tuple[Job, ...]


@dataclass(frozen=True)
class QueueChanged:
    """The queue's order or content changed: ``op`` says how (add, move, remove, clear,
    edit, estimate, skip, start, return), for clients that follow changes rather than
    re-read the queue; ``pos`` is where the first of ``ids`` is now, if still queued."""
    op: str = ""
    ids: tuple[int, ...] = ()
    pos: int | None = None


@dataclass(frozen=True)
class Launch:
    """Start this job in its own subprocess."""
    job: Job
    run: "Run"


@dataclass(frozen=True)
class Control:
    """Tell the running job: pause, pause_now, resume, abort or halt."""
    action: Event


@dataclass(frozen=True)
class Added:
    """The ids given to the jobs of one accepted add (for P:QUEUE:ADD:IDS)."""
    ids: tuple[int, ...]


@dataclass(frozen=True)
class PoliciesSet:
    """The operator set the queue's policies: kept across restarts."""
    queue_mode: str
    when_empty: str


@dataclass(frozen=True)
class HistoryCleared:
    """History shows no run before this one any more (runs stay stored for estimates)."""


@dataclass(frozen=True)
class RunRecorded:
    """A run started, ended or was skipped: write it to history."""
    run: "Run"


@dataclass(frozen=True)
class StateChanged:
    """P:STATE or P:QUEUE:STATE changed."""


@dataclass
class Run:
    """One attempt at a job: what history shows."""

    job_id: int
    name: str
    kind: str
    job: dict[str, Any]
    status: str                  # running finished failed aborted halted interrupted skipped
    started: float
    ended: float | None = None
    error: str = ""
    traceback: str = ""
    output: str = ""
    run_id: int | None = None            # given by the store
    paused: float = 0.0                  # seconds spent paused, not counted in the duration
    paused_since: float | None = None    # while paused: since when
    pauses: list[tuple[float, float]] = field(default_factory=list)   # (from, to), this run
    by: str = ""                         # who submitted the job: user@host

    def active(self, now: float) -> float:
        """Seconds the job has been running, its paused time left out."""
        end = self.ended if self.ended is not None else now
        held = self.paused + (end - self.paused_since if self.paused_since is not None else 0.0)
        return max(0.0, end - self.started - held)

    def hold(self, now: float) -> None:
        if self.paused_since is None:
            self.paused_since = now

    def release(self, now: float) -> None:
        if self.paused_since is not None:
            self.paused += max(0.0, now - self.paused_since)
            self.pauses.append((self.paused_since, now))
            self.paused_since = None

    def paused_after(self, moment: float, now: float) -> float:
        """Seconds spent paused between ``moment`` and ``now`` (e.g. within a phase)."""
        spans = self.pauses + ([(self.paused_since, now)] if self.paused_since is not None else [])
        return sum(max(0.0, min(end, now) - max(start, moment)) for start, end in spans)

    @property
    def duration(self) -> float | None:
        return None if self.ended is None else round(self.active(self.ended), 3)

    def describe(self) -> dict[str, Any]:
        return {"id": self.job_id, "run": self.run_id, "name": self.name, "kind": self.kind,
                "status": self.status, "start": self.started, "end": self.ended,
                "duration": self.duration, "paused": round(self.paused, 3), "error": self.error,
                "traceback": self.traceback, **({"by": self.by} if self.by else {})}


Effect = JobsSaved | QueueChanged | Launch | Control | RunRecorded | StateChanged | Added \
    | HistoryCleared | PoliciesSet

