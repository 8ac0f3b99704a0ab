"""Every PV the script server serves, as one table.

A status PV names the *topics* whose change republishes it and the property of
``StatusView`` (ioc/status.py) it shows; a control PV names the *action* a put
carries out (ioc/actions.py). Tests check that every topic, view and action
named here exists. README's PV table is generated from this table
(``python -m scriptserver.ioc.pvs``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from functools import cached_property
from typing import Any

from scriptserver.jobs.states import QUEUE_MODES, WHEN_EMPTY, QueueState, State

BIG = 8_000_000          # bytes: queue, history, command list as JSON
INPUT = 1_100_000        # bytes: a submitted job or batch (a script up to 1 MB)
TEXT = 10_000            # bytes: names, messages, errors
IDS = 100_000            # elements: id arrays
SERVER_STATES = ("STARTING", "READY", "STOPPING")


class Topic(str, Enum):
    """What changed; every status PV is republished when one of its topics changes."""
    STATE = "state"
    QUEUE = "queue"
    ADDED = "added"
    RECORD = "record"
    JOB = "job"
    ELAPSED = "elapsed"
    PROGRESS = "progress"
    LINE = "line"
    MESSAGE = "message"
    OUTPUT = "output"
    HISTORY = "history"
    COMMANDS = "commands"
    ERROR = "error"
    SERVER = "server"
    VALIDATED = "validated"
    PHASES = "phases"
    USERS = "users"
    ROWS = "rows"              # a row window's offset (ioc/rows.py)
    FORM = "form"              # the command form (ioc/form.py)


T = Topic


@dataclass(frozen=True)
class PV:
    name: str                       # after the prefix
    kind: str                       # json | text | long | double | enum | longs
    doc: str
    topic: Topic | tuple[Topic, ...] | None = None   # status PVs: republished when it changes
    view: str | None = None         # status PVs: the StatusView property shown
    action: str | None = None       # control PVs: the action a put carries out
    enum: tuple[str, ...] = ()
    units: str = ""
    limits: tuple[float, float] | None = None
    size: int = TEXT
    writable: bool = False          # a status PV that also takes puts (e.g. QUEUE:MODE)
    lazy: bool = False              # built only for someone: when read or monitored (group.py)
    hexed: bool = False             # control PV taking zlib-compressed hex JSON (IBEX clients)
    choices: str | None = None      # enums whose strings change: the StatusView property

    @cached_property                   # group.publish asks every PV at every change
    def topics(self) -> tuple[Topic, ...]:
        return (self.topic,) if isinstance(self.topic, Topic) else tuple(self.topic or ())

    @property
    def initial(self) -> Any:
        """The value served before the first update."""
        return {"longs": [], "long": 0, "double": 0.0,
                "enum": self.enum[0] if self.enum else ""}.get(self.kind, "")

    def value(self, status: Any) -> Any:
        """What the PV shows now, read from the status view."""
        assert self.view is not None, f"{self.name} is a control PV"
        return getattr(status, self.view)


LIVE = (T.JOB, T.PROGRESS, T.ELAPSED, T.PHASES)          # what the time left depends on

PVS: list[PV] = [
    # -- status ---------------------------------------------------------------
    PV("STATE", "enum", "what the current job is doing", T.STATE, "state",
       enum=tuple(x.value for x in State)),
    PV("QUEUE:STATE", "enum", "whether queued jobs are being run", T.STATE, "queue_state",
       enum=tuple(x.value for x in QueueState)),
    PV("QUEUE:MODE", "enum", "STOP_ON_FAILURE: a failed job stops the queue; "
       "CONTINUE_ON_FAILURE: the next job runs (writable; kept across restarts)", T.STATE,
       "queue_mode", enum=tuple(QUEUE_MODES), action="set_mode", writable=True),
    PV("QUEUE:WHEN_EMPTY", "enum", "STOP: the queue stops when it has run out of jobs; "
       "KEEP_RUNNING: it waits, and the next job added starts at once (writable; kept across "
       "restarts)", T.STATE, "when_empty", enum=tuple(WHEN_EMPTY), action="set_when_empty",
       writable=True),
    PV("QUEUE", "json", "queued jobs in running order: id, kind, name, estimate, by, job as "
       "submitted", T.QUEUE, "queue_json", size=BIG, lazy=True),
    PV("QUEUE:HEX", "json", "QUEUE as zlib-compressed hex (IBEX style)", T.QUEUE, "queue_hex",
       size=BIG, lazy=True),
    PV("QUEUE:MODE:SP", "enum", "set QUEUE:MODE (IBEX setpoint)", T.STATE, "queue_mode",
       enum=tuple(QUEUE_MODES), action="set_mode", writable=True),
    PV("QUEUE:MODE:SP:RBV", "enum", "QUEUE:MODE read back (IBEX setpoint convention)", T.STATE,
       "queue_mode", enum=tuple(QUEUE_MODES)),
    PV("QUEUE:CHANGE", "json", 'the last change to the queue, numbered, for clients that '
       'follow it instead of re-reading P:QUEUE: {"op": "move", "ids": [7], "count": 1, '
       '"pos": 0, "seq": 12}; op is add, move, remove, clear, edit, estimate, skip, start or '
       "return", T.QUEUE, "queue_change"),
    PV("QUEUE:LEN", "long", "number of queued jobs", T.QUEUE, "queue_length", units="jobs"),
    PV("QUEUE:IDS", "longs", "ids of queued jobs in running order", T.QUEUE, "queue_ids",
       size=IDS, lazy=True),
    PV("QUEUE:ADD:IDS", "longs", "ids given to the jobs of the last accepted QUEUE:ADD, "
       "QUEUE:REPEAT or QUEUE:REQUEUE", T.ADDED, "added_ids", size=IDS),
    PV("QUEUE:GET:RESULT", "json", "the job asked for with QUEUE:GET: as submitted, where it is, "
       "and every run with error, traceback and output", T.RECORD, "record", size=BIG),
    PV("JOB", "json", "the current job (empty when none)", T.JOB, "job", size=INPUT),
    PV("JOB:ID", "long", "id of the current job (0 when none)", T.JOB, "job_id"),
    PV("JOB:NAME", "text", "name of the current job", T.JOB, "job_name"),
    PV("JOB:KIND", "text", "kind of the current job: command, script or script_file", T.JOB,
       "job_kind"),
    PV("JOB:ELAPSED", "double", "seconds the current job has run, paused time left out",
       (T.JOB, T.ELAPSED), "elapsed", units="s"),
    PV("JOB:PAUSED:TIME", "double", "seconds the current job has spent paused",
       (T.JOB, T.STATE, T.ELAPSED), "paused_time", units="s"),
    PV("JOB:PROGRESS", "double", "% done of the current job, as it reports it (0 until it "
       "does)", (T.JOB, T.PROGRESS), "progress", units="%", limits=(0.0, 100.0)),
    PV("JOB:ESTIMATE", "double", "seconds the current job is expected to take in all "
       "(NaN with an INVALID alarm when unknown)", T.JOB, "estimate", units="s"),
    PV("JOB:ESTIMATE:SOURCE", "text", "where JOB:ESTIMATE comes from: command, history or "
       "unknown", T.JOB, "estimate_source"),
    PV("JOB:REMAINING", "double", "seconds the current job still needs, refined from its "
       "progress, paused time left out (NaN with an INVALID alarm when unknown)",
       LIVE + (T.STATE,), "remaining", units="s"),
    PV("QUEUE:ETA", "double", "seconds until the current and queued jobs are done, counting "
       "those with an estimate", (T.QUEUE, T.STATE) + LIVE, "queue_eta", units="s"),
    PV("QUEUE:ETA:UNKNOWN", "long", "how many of those jobs have no estimate (QUEUE:ETA is then "
       "a lower bound)", (T.QUEUE,) + LIVE, "queue_eta_unknown", units="jobs"),
    PV("BATCH", "json", "the batch the current job belongs to: id, name, index, size, progress",
       (T.QUEUE, T.JOB, T.PROGRESS), "batch"),
    PV("BATCH:PROGRESS", "double", "% done of the current batch", (T.QUEUE, T.JOB, T.PROGRESS),
       "batch_progress", units="%", limits=(0.0, 100.0)),
    PV("JOB:LINE", "long", "line of the job's own script (or command file) running now "
       "(0 until it reports)", (T.JOB, T.LINE), "line"),
    PV("JOB:STACK", "json", "call chain inside the job's own code: [[function, line], ...]",
       (T.JOB, T.LINE), "stack"),
    PV("JOB:MESSAGE", "text", "latest message or phase the job reported", (T.JOB, T.MESSAGE),
       "message"),
    PV("JOB:PHASE", "text", "the phase the job is in now (with phase(name): ...; empty when "
       "none)", (T.JOB, T.PHASES), "phase"),
    PV("JOB:PHASES", "json", "the job's phases: [{name, state (waiting, running, finished, "
       "failed), expected, actual (seconds), started}]", (T.JOB, T.PHASES), "phases",
       size=INPUT),
    PV("JOB:OUTPUT", "text", "last lines of the job's stdout and stderr", (T.JOB, T.OUTPUT),
       "output", size=64_000),
    PV("HISTORY", "json", "past runs, newest first: id, name, status, start, end, duration, "
       "paused, error, traceback", T.HISTORY, "history_json", size=BIG, lazy=True),
    PV("HISTORY:LAST", "json", "the newest run in HISTORY alone (small: for a display that "
       "shows how the last job ended)", T.HISTORY, "history_last"),
    PV("HISTORY:HEX", "json", "HISTORY as zlib-compressed hex (IBEX style)", T.HISTORY,
       "history_hex", size=BIG, lazy=True),
    PV("COMMANDS", "json", "every command: name, description, parameters, module", T.COMMANDS,
       "commands_json", size=BIG),
    PV("COMMANDS:HEX", "json", "COMMANDS as zlib-compressed hex (IBEX style)", T.COMMANDS,
       "commands_hex", size=BIG),
    PV("COMMANDS:NAMES", "json", "command names", T.COMMANDS, "command_names", size=INPUT),
    PV("COMMANDS:ERRORS", "json", "command files that failed to load: {file: error}",
       T.COMMANDS, "command_errors", size=INPUT),
    PV("ERROR", "text", "the last refusal or problem, in words: what was asked, why not, what "
       "to do", T.ERROR, "error"),
    PV("ERROR:TIME", "text", "when ERROR was last set (local time, ISO 8601)", T.ERROR,
       "error_time"),
    PV("ERROR:LOG", "json", "the last 20 problems, newest first: [{\"time\": ..., "
       "\"error\": ...}]", T.ERROR, "error_log", size=INPUT),
    PV("SERVER:STATE", "enum", "STARTING: loading, puts are refused; READY: taking requests; "
       "STOPPING: shutting down", T.SERVER, "server_state", enum=SERVER_STATES),
    # -- control ----------------------------------------------------------------
    PV("QUEUE:ADD", "json", "add a job, a list of jobs, or {\"jobs\": [...], \"pos\": ...}; "
       "pos is an index (-1 is the end), \"front\" or \"back\"; or \"before\"/\"after\": "
       "a queued job's id", action="add", size=INPUT),
    PV("QUEUE:START", "long", "run queued jobs, one at a time (refused when the queue is empty "
       "and QUEUE:WHEN_EMPTY is STOP)", action="start_queue"),
    PV("QUEUE:STOP", "long", "let the current job finish, then stop (a held queue stops at "
       "once)", action="stop_queue"),
    PV("QUEUE:CLEAR", "long", "remove every queued job", action="clear_queue"),
    PV("QUEUE:MOVE", "json", '{"id": 7, "pos": 0} (-1 is last) or {"id": 7, "before": 3} or '
       '{"id": 7, "after": 3}', action="move"),
    PV("QUEUE:REMOVE", "json", 'remove queued job(s): an id, a list of ids, or {"pos": n} '
       "(-1 is the last)", action="remove"),
    PV("QUEUE:SKIP", "json", "skip the next queued job (\"next\") or the job with this id; "
       "recorded in history as skipped", action="skip"),
    PV("QUEUE:REPEAT", "json", '{"id": 7, "times": 3}: copies with new ids right after it',
       action="repeat"),
    PV("QUEUE:EDIT", "json", '{"id": 7, "job": {...}}: replace a queued job, keeping its id',
       action="edit", size=INPUT),
    PV("QUEUE:GET", "json", 'a job id, or {"pos": n} for a queued job: its full description '
       "appears in QUEUE:GET:RESULT", action="get"),
    PV("QUEUE:REQUEUE", "json", 'queue a copy of a past job: an id, or {"id": 7, "job": {...}, '
       '"pos": ...} with edits', action="requeue", size=INPUT),
    PV("HISTORY:CLEAR", "long", "clear the history shown in HISTORY (runs stay stored, for "
       "estimates and QUEUE:GET)", action="clear_history"),
    PV("VALIDATE", "json", "check and dry-run a job, a list, a queued job's id or \"queue\" "
       "(the whole queue), without queueing or changing anything", action="validate",
       size=INPUT),
    PV("VALIDATE:RESULT", "json", 'the verdict on the last VALIDATE: {"valid", "finished" (the '
       'dry run is done), "problems": [{job, line, text}], "warnings", "jobs": [{name, '
       'estimate, dry_run: {status, seconds, output}}], "estimate"}', T.VALIDATED,
       "validation", size=BIG),
    PV("JOB:PAUSE", "long", "pause the job at its next pause point", action="pause"),
    PV("JOB:PAUSE:NOW", "long", "pause the job at its next Python line", action="pause_now"),
    PV("JOB:RESUME", "long", "continue the paused job (or the held queue)", action="resume"),
    PV("JOB:ABORT", "long", "abort the job: its cleanup runs (abort_grace seconds), then "
       "everything it started is killed; it goes back to the head of the queue, which stops",
       action="abort"),
    PV("JOB:HALT", "long", "halt the job: kill it and everything it started now, no cleanup; "
       "recorded as halted, back at the head of the queue, which stops", action="halt"),
    PV("COMMANDS:RELOAD", "long", "re-read the command folders now", action="reload_commands"),
    # -- access (ioc/access.py: TOKEN and USERS are read only by clients allowed to write) --
    PV("TOKEN", "text", "this start's login token (readable only by clients the rules let "
       "write; not served over PVA)", T.STATE, "token"),
    PV("USERS", "json", "open sessions: user, host, level, since, last_seen (readable only "
       "by clients the rules let write)", (T.USERS, T.STATE), "users"),
    PV("AUTH:LOGIN", "text", "put the token here to open a session for your CA user at your "
       "address", action="login"),
    PV("AUTH:LOGOUT", "text", "end your own session (put anything, e.g. me), or, with manage "
       "rights, put user@host to end that session", action="logout"),
]
from . import form, rows  # noqa: E402  (they build on PV and Topic above)

PVS += rows.row_pvs()          # QUEUE:ROW:n:... and HISTORY:ROW:n:... (ioc/rows.py)
PVS += form.form_pvs()         # FORM:COMMAND, FORM:ARGS, FORM:HELP, FORM:ADD (ioc/form.py)


def hex_twins(pvs: list[PV]) -> list[PV]:
    """A ``:HEX`` twin of every control PV that takes JSON, for IBEX's compress-and-hex clients."""
    return [replace(pv, name=pv.name + ":HEX", hexed=True, size=2 * pv.size,
                    doc=f"{pv.name} as zlib-compressed hex JSON (IBEX clients)")
            for pv in pvs if pv.action and pv.kind == "json"]


PVS += hex_twins(PVS)


def markdown_table() -> str:
    """The README's PV table."""
    lines = ["| PV | type | status or control | what it is |", "|---|---|---|---|"]
    for pv in PVS:
        if rows.is_row(pv.name) and ":ROW:" in pv.name and ":ROW:0:" not in pv.name:
            continue                   # one line per row field: n = 0 .. rows - 1
        role = "control" if pv.action and not pv.writable else (
            "status, writable" if pv.writable else "status")
        kind = {"json": "CHAR waveform (JSON)", "text": "CHAR waveform", "long": "LONG",
                "double": f"DOUBLE ({pv.units})", "enum": "ENUM", "longs": "LONG array"}[pv.kind]
        if pv.name.endswith(":HEX"):
            kind = "CHAR waveform (hex)"
        doc = pv.doc.replace("|", "\\|")
        if pv.enum and not pv.choices:
            doc += f": {', '.join(pv.enum)}"
        lines.append(f"| `P:{rows.pattern(pv.name)}` | {kind} | {role} | {doc} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
