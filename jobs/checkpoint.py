"""A checkpoint of the job manager, to undo a request the store could not save.

The service applies a request to the manager, then writes its effects to the
store; when the write fails (disk full, read-only folder), the request must
leave no trace, so the manager goes back to the checkpoint taken just before.
The manager's state is small except the queue, whose jobs are kept by
reference: what a request can change in place (a job's fields when edited or
estimated, the current run) is copied field by field, which costs about a
microsecond per queued job.
"""
from __future__ import annotations

from collections import deque
from typing import Any

from .manager import JobManager


class Checkpoint:
    """Everything a manager request can change, as it was when taken."""

    def __init__(self, manager: JobManager):
        self.manager = manager
        self.fields = dict(vars(manager))
        self.order = list(manager.queue)                       # the queue's jobs, in order
        self.jobs = [(job, dict(vars(job))) for job in self.order]
        if manager.current is not None:
            self.jobs.append((manager.current, dict(vars(manager.current))))
        self.run = (manager.run, dict(vars(manager.run))) if manager.run is not None else None
        self.history = list(manager.history)

    def restore(self) -> None:
        """Put the manager back as it was when the checkpoint was taken."""
        manager = self.manager
        fields: dict[str, Any] = dict(self.fields)
        for name in ("queue", "history"):
            fields.pop(name)
        vars(manager).update(fields)
        manager.queue._jobs[:] = self.order
        for job, saved in self.jobs:
            _put_back(job, saved)
        if self.run is not None:
            _put_back(*self.run)
        manager.history = deque(self.history, maxlen=manager.history.maxlen)
        manager._effects = []


def _put_back(thing: Any, saved: dict[str, Any]) -> None:
    state = vars(thing)
    state.clear()
    state.update(saved)
