"""A checkpoint of the job manager, to undo a request the store could not save.

The service applies a request to the manager, then writes its effects to the
store; when the write fails (disk full, read-only folder), the request must
leave no trace, so the manager goes back to the checkpoint taken just before.
A checkpoint costs what a request can change, not the size of the queue: the
queue's order is one list copy (references, at C speed), and the fields of
queued jobs set while it is open are journaled as they are set (``JOURNAL`` in
``queue.py``), then put back newest first by ``restore``. Use it as a context
manager so the journal closes whatever happens::

    with Checkpoint(manager) as checkpoint:
        effects = request(manager)
        try:
            store.apply(effects)
        except StoreUnavailable:
            checkpoint.restore()
            raise
"""
from __future__ import annotations

from collections import deque
from typing import Any

from .manager import JobManager
from .queue import JOURNAL, fields_of


class Checkpoint:
    """Everything a manager request can change, as it was when taken."""

    def __init__(self, manager: JobManager):
        self.manager = manager
        self.fields = dict(vars(manager))
        self.order = list(manager.queue)                       # the queue's jobs, in order
        self.current = (manager.current, fields_of(manager.current)) \
            if manager.current is not None else None
        self.run = (manager.run, dict(vars(manager.run))) if manager.run is not None else None
        self.history = list(manager.history)
        self.changes = JOURNAL.open()

    def __enter__(self) -> "Checkpoint":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop journaling (the request was kept, or undone)."""
        if JOURNAL.entries is self.changes:
            JOURNAL.close()

    def restore(self) -> None:
        """Put the manager back as it was when the checkpoint was taken."""
        self.close()
        manager = self.manager
        fields: dict[str, Any] = dict(self.fields)
        for name in ("queue", "history"):
            fields.pop(name)
        vars(manager).update(fields)
        for job, name, old in reversed(self.changes):
            object.__setattr__(job, name, old)
            object.__setattr__(job, "_json", None)
        manager.queue.restore(self.order)            # after the jobs: it counts their estimates
        if self.current is not None:
            job, saved = self.current
            for name, value in saved.items():
                object.__setattr__(job, name, value)
        if self.run is not None:
            _put_back(*self.run)
        manager.history = deque(self.history, maxlen=manager.history.maxlen)
        manager._effects = []


def _put_back(thing: Any, saved: dict[str, Any]) -> None:
    state = vars(thing)
    state.clear()
    state.update(saved)
