"""What the manager asks the adapters to do after a request was accepted.

The manager never does I/O: it returns these, and the service applies them in
order (store first, so an accepted request is on disk before anyone sees it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .queue import Job


@dataclass(frozen=True)
class JobsSaved:
    """New or edited jobs to write to the store."""
    jobs: tuple[Job, ...]


@dataclass(frozen=True)
class QueueChanged:
    """The queue's order or content changed."""


@dataclass(frozen=True)
class Launch:
    """Start this job in its own subprocess."""
    job: Job
    run: "Run"


@dataclass(frozen=True)
class Control:
    """Tell the running job: pause, pause_now, resume or abort."""
    action: str


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
    status: str                          # running finished failed aborted interrupted skipped
    started: float
    ended: float | None = None
    error: str = ""
    traceback: str = ""
    output: str = ""
    run_id: int | None = None            # given by the store

    @property
    def duration(self) -> float | None:
        return None if self.ended is None else round(self.ended - self.started, 3)

    def describe(self) -> dict[str, Any]:
        return {"id": self.job_id, "run": self.run_id, "name": self.name, "kind": self.kind,
                "status": self.status, "start": self.started, "end": self.ended,
                "duration": self.duration, "error": self.error, "traceback": self.traceback}

