"""What the status PVs show: a small typed view over the server, read by the PV table.

The PV table names one property of ``StatusView`` per status PV (and a test
checks each exists), so no PV reaches into the service's internals. Values
here are what an operator reads: seconds, percentages, names, JSON-able data.
"""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scriptserver.jobs import estimates
from scriptserver.jobs import phases as job_phases
from scriptserver.jobs.manager import JobManager
from scriptserver.jobs.queue import Job

from .form import CommandForm
from .pvs import BIG
from .rows import RowWindows
from .serialized import Serialized, dumps, fitted

if TYPE_CHECKING:
    from scriptserver.commands.library import CommandLibrary


@dataclass
class LiveJob:
    """What the current job reports while it runs; a new one (all empty) at every start
    and end, so no display shows the previous job's values."""
    progress: float | None = None          # 0..1, None until the job reports
    line: int = 0
    stack: list = field(default_factory=list)
    message: str = ""
    output: str = ""
    phases: list = field(default_factory=list)   # as the job reports them (jobs/phases.py)


ERROR_LOG_LENGTH = 20
MAX_CHANGE_IDS = 100          # ids shown in QUEUE:CHANGE ("count" says how many)
ERROR_LENGTH = 2000          # characters of one problem kept (a put may quote its value)


@dataclass
class Notes:
    """What the server keeps to show about the last requests."""
    error: str = ""
    error_time: float = 0.0
    errors: deque = field(default_factory=lambda: deque(maxlen=ERROR_LOG_LENGTH))
    added: tuple[int, ...] = ()
    record: str = ""
    validation: dict[str, Any] | str = ""
    form: CommandForm = field(default_factory=CommandForm)    # FORM:COMMAND, FORM:ARGS
    server_state: str = "STARTING"
    queue_change: dict[str, Any] = field(default_factory=dict)   # the last, for QUEUE:CHANGE
    changes: int = 0                                             # its sequence number

    def change(self, op: str, ids: tuple[int, ...], pos: int | None) -> None:
        """Remember the queue's last change, numbered, for P:QUEUE:CHANGE."""
        self.changes += 1
        self.queue_change = {"op": op, "ids": list(ids[:MAX_CHANGE_IDS]), "count": len(ids),
                             "pos": pos, "seq": self.changes}

    def problem(self, message: str, when: float) -> None:
        """The last problem, with its time; the recent ones, newest first, for P:ERROR:LOG."""
        if len(message) > ERROR_LENGTH:
            message = message[:ERROR_LENGTH] + " ..."
        self.error, self.error_time = message, when
        self.errors.appendleft({"time": round(when, 3), "error": message})


def seconds(value: float | None) -> float:
    """Seconds, or NaN (published with an INVALID alarm) when unknown."""
    return math.nan if value is None else round(value, 1)


def percent(fraction: float | None) -> float:
    return 0.0 if fraction is None else round(100.0 * fraction, 2)


class StatusView:
    def __init__(self, manager: JobManager, commands: "CommandLibrary",
                 serialized: Serialized, notes: Notes):
        self.manager = manager
        self.commands = commands
        self.serialized = serialized
        self.notes = notes
        self.live = LiveJob()
        self._rows = RowWindows(manager, serialized)
        self.gate: Any = None           # the access gate (ioc/gate.py), set by the service

    # -- access ------------------------------------------------------------------

    @property
    def token(self) -> str:
        return self.gate.token_text

    @property
    def users(self) -> list[dict[str, Any]]:
        return self.gate.users()

    # -- server and queue -------------------------------------------------------

    @property
    def state(self) -> str:
        return self.manager.state.value

    @property
    def queue_state(self) -> str:
        return self.manager.queue_state.value

    @property
    def queue_mode(self) -> str:
        return self.manager.queue_mode

    @property
    def when_empty(self) -> str:
        return self.manager.when_empty

    @property
    def queue_json(self) -> str:
        return self.serialized.text("queue", self._queue, BIG)

    @property
    def queue_hex(self) -> str:
        return self.serialized.hex("queue", self._queue, BIG)

    @property
    def queue_length(self) -> int:
        return len(self.manager.queue)

    @property
    def queue_change(self) -> dict[str, Any] | str:
        return self.notes.queue_change or ""

    @property
    def history_last(self) -> dict[str, Any] | str:
        history = self.manager.history
        return history[0].describe() if history else ""

    @property
    def queue_ids(self) -> list[int]:
        return self.manager.queue.ids()

    @property
    def added_ids(self) -> list[int]:
        return list(self.notes.added)

    @property
    def record(self) -> str:
        return self.notes.record

    @property
    def queue_eta(self) -> float:
        return self._eta()[0]

    @property
    def queue_eta_unknown(self) -> int:
        return self._eta()[1]

    # -- the current job --------------------------------------------------------

    @property
    def current(self) -> Job | None:
        return self.manager.current

    @property
    def job(self) -> dict[str, Any] | str:
        job, run = self.manager.current, self.manager.run
        if job is None or run is None:
            return ""
        return {**job.describe(), "start": run.started, "status": self.manager.state.value}

    @property
    def job_kind(self) -> str:
        return self.current.kind if self.current else ""

    @property
    def job_id(self) -> int:
        return self.current.id if self.current else 0

    @property
    def job_name(self) -> str:
        return self.current.name if self.current else ""

    @property
    def elapsed(self) -> float:
        """Seconds the job has run, its paused time left out."""
        run = self.manager.run
        return round(run.active(time.time()), 1) if run is not None else 0.0

    @property
    def paused_time(self) -> float:
        run = self.manager.run
        if run is None:
            return 0.0
        now = time.time()
        return round(run.paused + (now - run.paused_since if run.paused_since else 0.0), 1)

    @property
    def progress(self) -> float:
        return percent(self.live.progress)

    @property
    def estimate(self) -> float:
        return seconds(self.current.estimate if self.current else None)

    @property
    def estimate_source(self) -> str:
        return self.current.estimate_source if self.current else ""

    @property
    def remaining(self) -> float:
        return seconds(self._remaining())

    @property
    def batch(self) -> dict[str, Any] | str:
        return self._batch() or ""

    @property
    def batch_progress(self) -> float:
        batch = self._batch()
        return percent(batch["progress"] if batch else None)

    @property
    def line(self) -> int:
        return self.live.line

    @property
    def stack(self) -> list:
        return self.live.stack

    @property
    def message(self) -> str:
        return self.live.message

    @property
    def output(self) -> str:
        return self.live.output

    @property
    def phase(self) -> str:
        return job_phases.current(self.live.phases)

    @property
    def phases(self) -> list:
        return self.live.phases

    # -- history, commands, errors -------------------------------------------------

    @property
    def history_json(self) -> str:
        return self.serialized.text("history", self._history, BIG)

    @property
    def history_hex(self) -> str:
        return self.serialized.hex("history", self._history, BIG)

    @property
    def commands_json(self) -> str:
        return self.serialized.text("commands", self._commands, BIG)

    @property
    def commands_hex(self) -> str:
        return self.serialized.hex("commands", self._commands, BIG)

    @property
    def command_names(self) -> list[str]:
        return self.commands.names()

    @property
    def command_errors(self) -> dict[str, str]:
        return self.commands.errors()

    @property
    def error(self) -> str:
        return self.notes.error

    @property
    def error_time(self) -> str:
        """When the last problem happened (local time, ISO 8601), empty if none yet."""
        if not self.notes.error_time:
            return ""
        return datetime.fromtimestamp(self.notes.error_time).isoformat(timespec="milliseconds")

    @property
    def error_log(self) -> list[dict[str, Any]]:
        return list(self.notes.errors)

    @property
    def server_state(self) -> str:
        return self.notes.server_state

    @property
    def validation(self) -> dict[str, Any] | str:
        return self.notes.validation

    # -- for displays: row windows (ioc/rows.py) and the command form (ioc/form.py) ---

    @property
    def rows(self) -> RowWindows:
        """The row PVs (QUEUE:ROW:n:..., HISTORY:ROW:n:...) read their cells here."""
        return self._rows

    @property
    def form_command(self) -> str:
        return self.notes.form.chosen(self.commands.names())

    @property
    def form_choices(self) -> tuple[str, ...]:
        return self.notes.form.choices(self.commands.names())

    @property
    def form_args(self) -> str:
        return self.notes.form.args

    @property
    def form_help(self) -> str:
        return self.notes.form.help(self.commands.describe())

    # -- inside ---------------------------------------------------------------------

    def prepare(self, view: str):
        """Steps of work to do, a chunk each, before ``view`` is read (the event loop may
        run between them): the queue's JSON pieces; nothing for the other views."""
        if view in ("queue_json", "queue_hex"):
            yield from self.serialized.prepare_queue(self.manager.queue, BIG)

    def _queue(self, limit: int) -> str:
        return self.serialized.queue(self.manager.queue)(limit)

    def _history(self, limit: int) -> str:
        return self.serialized.history(self.manager.history)(limit)

    def _commands(self, limit: int) -> str:
        return fitted((dumps(c) for c in self.commands.describe()), limit,
                      "COMMANDS:NAMES lists every command")

    def _remaining(self) -> float | None:
        job, run = self.manager.current, self.manager.run
        if job is None or run is None:
            return None
        now = time.time()
        by_phases = job_phases.remaining(self.live.phases, now,
                                         lambda moment: run.paused_after(moment, now))
        if by_phases is not None:               # the job's own plan beats extrapolation
            return by_phases
        return estimates.remaining(run.active(now), self.live.progress, job.estimate)

    def _eta(self) -> tuple[float, int]:
        totals = self.manager.queue.totals()
        known, unknown = totals.known, totals.unknown
        if self.manager.current is None:
            return known, unknown
        left = self._remaining()
        return (round(known + left, 1), unknown) if left is not None else (known, unknown + 1)

    def _batch(self) -> dict[str, Any] | None:
        job = self.manager.current
        if job is None or job.batch is None:
            return None
        info = job.extra["batch"]
        queued = self.manager.queue.totals().batches.get(job.batch.id, 0)
        return {**info, "progress": estimates.batch_progress(info["size"], queued, True,
                                                             self.live.progress)}
