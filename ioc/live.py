"""What the running job reports, and the time and progress views built on it."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from scriptserver.jobs import estimates
from scriptserver.jobs.manager import JobManager


@dataclass
class LiveJob:
    """What the current job reports while it runs."""
    started: float = 0.0
    progress: float | None = None          # 0..1
    line: int = 0
    stack: list = field(default_factory=list)
    message: str = ""
    output: str = ""

    def elapsed(self) -> float:
        return max(0.0, time.time() - self.started) if self.started else 0.0


def remaining(manager: JobManager, live: LiveJob) -> float | None:
    """Seconds the current job still needs, or None when unknown."""
    job = manager.current
    if job is None:
        return None
    return estimates.remaining(live.elapsed(), live.progress, job.estimate)


def queue_eta(queued: tuple[float, int], manager: JobManager,
              live: LiveJob) -> tuple[float, int]:
    """(seconds until the queue is done, jobs with no estimate), given the queued totals."""
    known, unknown = queued
    if manager.current is None:
        return known, unknown
    left = remaining(manager, live)
    return (round(known + left, 1), unknown) if left is not None else (known, unknown + 1)


def batch(queued_by_batch: dict[int, int], manager: JobManager,
          live: LiveJob) -> dict[str, Any] | None:
    """The batch the current job belongs to, with its overall progress."""
    job = manager.current
    if job is None or "batch" not in job.extra:
        return None
    info = job.extra["batch"]
    queued = queued_by_batch.get(info["id"], 0)
    return {**info, "progress": estimates.batch_progress(info["size"], queued, True,
                                                         live.progress)}
