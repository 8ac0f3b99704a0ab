"""Every PV the script server serves, as one table.

A status PV names the *topic* whose change republishes it and how its value is
read from the service; a control PV names the service *action* a put calls.
README's PV table is generated from this table (``python -m scriptserver.ioc.pvs``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from scriptserver.jobs.manager import QUEUE_MODES
from scriptserver.jobs.states import QueueState, State

from . import live
from .serialized import dumps

BIG = 8_000_000          # bytes: queue, history, command list as JSON
INPUT = 1_100_000        # bytes: a submitted job or batch (a script up to 1 MB)
TEXT = 10_000            # bytes: names, messages, errors
IDS = 100_000            # elements: id arrays


@dataclass(frozen=True)
class PV:
    name: str                       # after the prefix
    kind: str                       # json | text | long | double | enum | longs
    doc: str
    topic: str | tuple[str, ...] | None = None   # status PVs: republished when it changes
    value: Callable[[Any], Any] | None = None
    action: str | None = None       # control PVs: the ScriptServer method a put calls
    enum: tuple[str, ...] = ()
    units: str = ""
    limits: tuple[float, float] | None = None
    size: int = TEXT
    writable: bool = False          # a status PV that also takes puts (e.g. QUEUE:MODE)
    lazy: bool = False              # large: built when read, monitors updated just after a put

    @property
    def topics(self) -> tuple[str, ...]:
        return (self.topic,) if isinstance(self.topic, str) else tuple(self.topic or ())

    @property
    def initial(self) -> Any:
        """The value served before the first update."""
        return {"longs": [0], "long": 0, "double": 0.0,
                "enum": self.enum[0] if self.enum else ""}.get(self.kind, "")


def _queue(s):
    return s.serialized.queue(s.manager.queue)


def _history(s):
    return s.serialized.history(s.manager.history)


def _commands(s):
    return lambda: dumps(s.commands.describe())


def _progress(s):
    return 0.0 if s.live.progress is None else round(100.0 * s.live.progress, 2)


def _seconds(value: float | None) -> float:
    """Seconds, or NaN (published with an INVALID alarm) when unknown."""
    return math.nan if value is None else round(value, 1)


def _remaining(s):
    return live.remaining(s.manager, s.live)


def _eta(s):
    return live.queue_eta(s.serialized.queue_totals(s.manager.queue), s.manager, s.live)


def _batch(s):
    return live.batch(s.serialized.batch_counts(s.manager.queue), s.manager, s.live)


def _batch_progress(s):
    batch = _batch(s)
    return 0.0 if batch is None else round(100.0 * batch["progress"], 2)


LIVE = ("job", "progress", "elapsed")          # what the time left depends on


def _job_field(key: str, empty: Any = "") -> Callable[[Any], Any]:
    return lambda s: getattr(s.manager.current, key) if s.manager.current else empty


PVS: list[PV] = [
    # -- status ---------------------------------------------------------------
    PV("STATE", "enum", "what the current job is doing", "state",
       lambda s: s.manager.state.value, enum=tuple(x.value for x in State)),
    PV("QUEUE:STATE", "enum", "whether queued jobs are being run", "state",
       lambda s: s.manager.queue_state.value, enum=tuple(x.value for x in QueueState)),
    PV("QUEUE:MODE", "enum", "STOP_ON_FAILURE: a failed job stops the queue; "
       "CONTINUE_ON_FAILURE: the next job runs (writable)", "state",
       lambda s: s.manager.queue_mode, enum=QUEUE_MODES, action="set_mode", writable=True),
    PV("QUEUE", "json", "queued jobs in running order: id, kind, name, estimate, job as submitted",
       "queue", lambda s: s.serialized.text("queue", _queue(s)), size=BIG, lazy=True),
    PV("QUEUE:HEX", "json", "QUEUE as zlib-compressed hex (IBEX style)", "queue",
       lambda s: s.serialized.hex("queue", _queue(s)), size=BIG, lazy=True),
    PV("QUEUE:LEN", "long", "number of queued jobs", "queue", lambda s: len(s.manager.queue)),
    PV("QUEUE:IDS", "longs", "ids of queued jobs in running order", "queue",
       lambda s: s.manager.queue.ids(), size=IDS, lazy=True),
    PV("QUEUE:ADD:IDS", "longs", "ids given to the jobs of the last accepted QUEUE:ADD", "added",
       lambda s: s.last_added, size=IDS),
    PV("QUEUE:GET:RESULT", "json", "the job asked for with QUEUE:GET: as submitted, where it is, "
       "and every run with error, traceback and output", "record", lambda s: s.last_record,
       size=BIG),
    PV("JOB", "json", "the current job (empty when none)", "job",
       lambda s: s.current_job() or "", size=INPUT),
    PV("JOB:ID", "long", "id of the current job (0 when none)", "job", _job_field("id", 0)),
    PV("JOB:NAME", "text", "name of the current job", "job", _job_field("name")),
    PV("JOB:ELAPSED", "double", "seconds since the current job started", "elapsed",
       lambda s: round(s.live.elapsed(), 1) if s.manager.current else 0.0, units="s"),
    PV("JOB:PROGRESS", "double", "% done of the current job, as it reports it", "progress",
       _progress, units="%", limits=(0.0, 100.0)),
    PV("JOB:ESTIMATE", "double", "seconds the current job is expected to take in all "
       "(NaN with an INVALID alarm when unknown)", "job",
       lambda s: _seconds(s.manager.current and s.manager.current.estimate), units="s"),
    PV("JOB:ESTIMATE:SOURCE", "text", "where JOB:ESTIMATE comes from: command, history or "
       "unknown", "job", _job_field("estimate_source")),
    PV("JOB:REMAINING", "double", "seconds the current job still needs, refined from its "
       "progress (NaN with an INVALID alarm when unknown)", LIVE,
       lambda s: _seconds(_remaining(s)), units="s"),
    PV("QUEUE:ETA", "double", "seconds until the current and queued jobs are done, counting "
       "those with an estimate", ("queue",) + LIVE, lambda s: _eta(s)[0], units="s"),
    PV("QUEUE:ETA:UNKNOWN", "long", "how many of those jobs have no estimate (QUEUE:ETA is then "
       "a lower bound)", ("queue",) + LIVE, lambda s: _eta(s)[1]),
    PV("BATCH", "json", "the batch the current job belongs to: id, name, index, size, progress",
       ("queue", "job", "progress"), lambda s: _batch(s) or ""),
    PV("BATCH:PROGRESS", "double", "% done of the current batch", ("queue", "job", "progress"),
       _batch_progress, units="%", limits=(0.0, 100.0)),
    PV("JOB:LINE", "long", "line of the job's own script (or command file) running now", "line",
       lambda s: s.live.line),
    PV("JOB:STACK", "json", "call chain inside the job's own code: [[function, line], ...]",
       "line", lambda s: s.live.stack),
    PV("JOB:MESSAGE", "text", "latest message or phase the job reported", "message",
       lambda s: s.live.message),
    PV("JOB:OUTPUT", "text", "last lines of the job's stdout and stderr", "output",
       lambda s: s.live.output, size=64_000),
    PV("HISTORY", "json", "past runs, newest first: id, name, status, start, end, duration, "
       "error, traceback", "history", lambda s: s.serialized.text("history", _history(s)),
       size=BIG, lazy=True),
    PV("HISTORY:HEX", "json", "HISTORY as zlib-compressed hex (IBEX style)", "history",
       lambda s: s.serialized.hex("history", _history(s)), size=BIG, lazy=True),
    PV("COMMANDS", "json", "every command: name, description, parameters, module", "commands",
       lambda s: s.serialized.text("commands", _commands(s)), size=BIG),
    PV("COMMANDS:HEX", "json", "COMMANDS as zlib-compressed hex (IBEX style)", "commands",
       lambda s: s.serialized.hex("commands", _commands(s)), size=BIG),
    PV("COMMANDS:NAMES", "json", "command names", "commands", lambda s: s.commands.names(),
       size=INPUT),
    PV("COMMANDS:ERRORS", "json", "command files that failed to load: {file: error}", "commands",
       lambda s: s.commands.errors(), size=INPUT),
    PV("ERROR", "text", "the last refusal or job failure, in words", "error",
       lambda s: s.last_error),
    # -- control ----------------------------------------------------------------
    PV("QUEUE:ADD", "json", "add a job, a list of jobs, or {\"jobs\": [...], \"pos\": ...}; "
       "pos is an index, \"front\" or \"back\"", action="add", size=INPUT),
    PV("QUEUE:START", "long", "run queued jobs, one at a time", action="start_queue"),
    PV("QUEUE:STOP", "long", "let the current job finish, then stop", action="stop_queue"),
    PV("QUEUE:CLEAR", "long", "remove every queued job", action="clear_queue"),
    PV("QUEUE:MOVE", "json", '{"id": 7, "pos": 0} or {"id": 7, "before": 3} or '
       '{"id": 7, "after": 3}', action="move"),
    PV("QUEUE:REMOVE", "json", "remove queued job(s): an id or a list of ids", action="remove"),
    PV("QUEUE:SKIP", "json", "skip the next queued job (\"next\") or the job with this id; "
       "recorded in history as skipped", action="skip"),
    PV("QUEUE:REPEAT", "json", '{"id": 7, "times": 3}: copies with new ids right after it',
       action="repeat"),
    PV("QUEUE:EDIT", "json", '{"id": 7, "job": {...}}: replace a queued job, keeping its id',
       action="edit", size=INPUT),
    PV("QUEUE:GET", "long", "put a job id: its full description appears in QUEUE:GET:RESULT",
       action="get"),
    PV("QUEUE:REQUEUE", "json", 'queue a copy of a past job: an id, or {"id": 7, "job": {...}, '
       '"pos": ...} with edits', action="requeue", size=INPUT),
    PV("VALIDATE", "json", "check a job (or a list) exactly as QUEUE:ADD would, and estimate "
       "it, without queueing anything", action="validate", size=INPUT),
    PV("VALIDATE:RESULT", "json", 'the verdict on the last VALIDATE: {"valid": true, "jobs": '
       '[name, estimate, ...]} or {"valid": false, "error": "..."}', "validated",
       lambda s: s.last_validation),
    PV("JOB:PAUSE", "long", "pause the job at its next pause point", action="pause"),
    PV("JOB:PAUSE:NOW", "long", "pause the job at its next Python line", action="pause_now"),
    PV("JOB:RESUME", "long", "continue the paused job (or the held queue)", action="resume"),
    PV("JOB:ABORT", "long", "abort the job: its cleanup runs, then its process group is "
       "killed; it goes back to the head of the queue", action="abort"),
    PV("COMMANDS:RELOAD", "long", "re-read the command folders now", action="reload_commands"),
]


def markdown_table() -> str:
    """The README's PV table."""
    rows = ["| PV | type | status or control | what it is |", "|---|---|---|---|"]
    for pv in PVS:
        role = "control" if pv.action and not pv.writable else (
            "status, writable" if pv.writable else "status")
        kind = {"json": "CHAR waveform (JSON)", "text": "CHAR waveform", "long": "LONG",
                "double": f"DOUBLE ({pv.units})", "enum": "ENUM", "longs": "LONG array"}[pv.kind]
        if pv.name.endswith(":HEX"):
            kind = "CHAR waveform (hex)"
        doc = pv.doc.replace("|", "\\|")
        if pv.enum:
            doc += f": {', '.join(pv.enum)}"
        rows.append(f"| `P:{pv.name}` | {kind} | {role} | {doc} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
