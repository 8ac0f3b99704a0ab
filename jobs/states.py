"""The rules of the script server, as data.

Two small state machines, each a table of (state, event) -> next state that the
manager consults and the tests walk exhaustively; README's state diagrams are
generated from these tables (``python -m scriptserver.jobs.states``).

``State`` is what the current job is doing (``P:STATE``); ``QueueState`` is
whether the server takes the next job from the queue (``P:QUEUE:STATE``).
Every state an operator can see is a member here, the held queue included.

An operator's request missing from a table is refused, with the reason from
``REFUSALS``. A job's report missing from a table is stale (the operator has
already moved on, e.g. resumed before the job's "paused" arrived) and ignored:
reports are news, not requests, so they are never refused.
"""
from __future__ import annotations

from enum import Enum

from .errors import RequestRefused


class State(str, Enum):
    IDLE = "IDLE"            # no job running
    RUNNING = "RUNNING"      # a job is running
    PAUSING = "PAUSING"      # pause asked for; waiting for the job's pause point
    PAUSED = "PAUSED"        # the job holds at a pause point (or a line, after pause-now)
    HELD = "HELD"            # the job ended before its pause point: the queue waits for resume
    ABORTING = "ABORTING"    # abort asked for; the job's cleanup runs, then it is killed
    HALTING = "HALTING"      # halt asked for: the job is killed now, no cleanup


class QueueState(str, Enum):
    STOPPED = "STOPPED"      # queued jobs wait
    RUNNING = "RUNNING"      # the next job starts when the current one ends
    STOPPING = "STOPPING"    # the current job finishes, then the queue stops


class Event(str, Enum):
    """What can happen to the current job: operator requests, then the runner's reports."""
    LAUNCH = "launch"            # the manager takes the next queued job
    PAUSE = "pause"
    PAUSE_NOW = "pause_now"
    RESUME = "resume"
    ABORT = "abort"
    HALT = "halt"
    STOP = "stop"                # QUEUE:STOP, which also releases a held queue
    START = "start"              # QUEUE:START, refused while a pause is in the way
    JOB_PAUSED = "job_paused"    # reports from the job's process, from here on
    JOB_RESUMED = "job_resumed"
    JOB_ENDED = "job_ended"


class QueueEvent(str, Enum):
    START = "start"
    STOP = "stop"
    DRAINED = "drained"          # the job a stopping queue waited for has ended
    FAILED = "failed"            # a job failed and the mode is STOP_ON_FAILURE
    ABORTED = "aborted"          # the operator aborted or halted the job
    RAN_OUT = "ran_out"          # the last queued job ended and the policy is to stop


REPORTS = frozenset({Event.JOB_PAUSED, Event.JOB_RESUMED, Event.JOB_ENDED})

S, Q, E, QE = State, QueueState, Event, QueueEvent

TRANSITIONS: dict[tuple[State, Event], State] = {
    (S.IDLE, E.LAUNCH): S.RUNNING,
    (S.RUNNING, E.PAUSE): S.PAUSING,
    (S.RUNNING, E.PAUSE_NOW): S.PAUSING,
    (S.PAUSING, E.PAUSE_NOW): S.PAUSING,
    (S.PAUSING, E.RESUME): S.RUNNING,         # cancels a pause not yet reached
    (S.PAUSED, E.RESUME): S.RUNNING,
    (S.HELD, E.RESUME): S.IDLE,               # the queue goes on with its next job
    (S.RUNNING, E.ABORT): S.ABORTING,
    (S.PAUSING, E.ABORT): S.ABORTING,
    (S.PAUSED, E.ABORT): S.ABORTING,
    (S.RUNNING, E.HALT): S.HALTING,
    (S.PAUSING, E.HALT): S.HALTING,
    (S.PAUSED, E.HALT): S.HALTING,
    (S.ABORTING, E.HALT): S.HALTING,          # the cleanup takes too long: kill it now
    (S.IDLE, E.STOP): S.IDLE,
    (S.RUNNING, E.STOP): S.RUNNING,
    (S.PAUSING, E.STOP): S.PAUSING,
    (S.PAUSED, E.STOP): S.PAUSED,
    (S.HELD, E.STOP): S.IDLE,                 # stop instead of resuming: release the hold
    (S.ABORTING, E.STOP): S.ABORTING,
    (S.HALTING, E.STOP): S.HALTING,
    (S.IDLE, E.START): S.IDLE,
    (S.RUNNING, E.START): S.RUNNING,
    # reports: what the job says it did
    (S.PAUSING, E.JOB_PAUSED): S.PAUSED,
    (S.PAUSED, E.JOB_RESUMED): S.RUNNING,     # normally JOB:RESUME already said so
    (S.RUNNING, E.JOB_ENDED): S.IDLE,
    (S.PAUSING, E.JOB_ENDED): S.HELD,         # ended before its pause point: hold the queue
    (S.PAUSED, E.JOB_ENDED): S.IDLE,          # died while paused (killed from outside)
    (S.ABORTING, E.JOB_ENDED): S.IDLE,
    (S.HALTING, E.JOB_ENDED): S.IDLE,
}

# How a job ends when the operator ended it, whatever it reports.
ENDED_AS: dict[State, str] = {S.ABORTING: "aborted", S.HALTING: "halted"}

REFUSALS: dict[Event, dict[State, str]] = {
    E.LAUNCH: {s: "a job is already running" for s in S if s is not S.IDLE},
    E.PAUSE: {
        S.IDLE: "no job is running, so there is nothing to pause",
        S.PAUSING: "a pause is already on its way; use JOB:PAUSE:NOW to pause at once",
        S.PAUSED: "the job is already paused",
        S.HELD: "the queue is already held",
        S.ABORTING: "the job is being aborted",
        S.HALTING: "the job is being halted",
    },
    E.PAUSE_NOW: {
        S.IDLE: "no job is running, so there is nothing to pause",
        S.PAUSED: "the job is already paused",
        S.HELD: "the queue is already held",
        S.ABORTING: "the job is being aborted",
        S.HALTING: "the job is being halted",
    },
    E.RESUME: {
        S.IDLE: "nothing is paused, so there is nothing to resume",
        S.RUNNING: "the job is running, not paused",
        S.ABORTING: "the job is being aborted and cannot be resumed",
        S.HALTING: "the job is being halted and cannot be resumed",
    },
    E.ABORT: {
        S.IDLE: "no job is running, so there is nothing to abort",
        S.HELD: "no job is running (the queue is held after a pause: JOB:RESUME continues "
                "it, QUEUE:STOP stops it)",
        S.ABORTING: "the job is already being aborted; JOB:HALT kills it at once",
        S.HALTING: "the job is already being halted",
    },
    E.HALT: {
        S.IDLE: "no job is running, so there is nothing to halt",
        S.HELD: "no job is running (the queue is held after a pause: JOB:RESUME continues "
                "it, QUEUE:STOP stops it)",
        S.HALTING: "the job is already being halted",
    },
    E.START: {
        S.PAUSING: "a pause is on its way: resume (JOB:RESUME) or abort (JOB:ABORT) before "
                   "starting the queue",
        S.PAUSED: "the queue is paused: resume (JOB:RESUME) or abort the paused job "
                  "(JOB:ABORT) before starting the queue",
        S.HELD: "the queue is held after a pause: JOB:RESUME continues it",
        S.ABORTING: "the current job is being aborted; start the queue when it has ended",
        S.HALTING: "the current job is being halted; start the queue when it has ended",
    },
}

QUEUE_TRANSITIONS: dict[tuple[QueueState, QueueEvent], QueueState] = {
    (Q.STOPPED, QE.START): Q.RUNNING,
    (Q.RUNNING, QE.START): Q.RUNNING,
    (Q.STOPPING, QE.START): Q.RUNNING,        # changed your mind: keep going
    (Q.STOPPED, QE.STOP): Q.STOPPED,
    (Q.RUNNING, QE.STOP): Q.STOPPING,
    (Q.STOPPING, QE.STOP): Q.STOPPING,
    (Q.STOPPING, QE.DRAINED): Q.STOPPED,
    (Q.RUNNING, QE.FAILED): Q.STOPPED,
    (Q.STOPPING, QE.FAILED): Q.STOPPED,
    (Q.STOPPED, QE.FAILED): Q.STOPPED,
    (Q.RUNNING, QE.ABORTED): Q.STOPPED,
    (Q.STOPPING, QE.ABORTED): Q.STOPPED,
    (Q.STOPPED, QE.ABORTED): Q.STOPPED,
    (Q.RUNNING, QE.RAN_OUT): Q.STOPPED,
    (Q.STOPPING, QE.RAN_OUT): Q.STOPPED,
    (Q.STOPPED, QE.RAN_OUT): Q.STOPPED,
}

# Policies: what the queue does when a job fails, and when it has run out of jobs.
QUEUE_MODES: dict[str, QueueEvent | None] = {
    "STOP_ON_FAILURE": QE.FAILED,
    "CONTINUE_ON_FAILURE": None,
}
WHEN_EMPTY: dict[str, QueueEvent | None] = {
    "STOP": QE.RAN_OUT,                       # as bluesky-queueserver: run out, then stop
    "KEEP_RUNNING": None,                     # the next job added starts at once
}
# How a job's end moves the queue, before the policies: (status) -> event.
ENDED_QUEUE_EVENT: dict[str, QueueEvent] = {"aborted": QE.ABORTED, "halted": QE.ABORTED}


def next_state(state: State, event: Event) -> State:
    """The state after ``event``: refused in words for a request, unchanged for a stale report."""
    if (state, event) in TRANSITIONS:
        return TRANSITIONS[state, event]
    if event in REPORTS:
        return state
    reason = REFUSALS.get(event, {}).get(state, f"not possible while {state.value}")
    raise RequestRefused(f"cannot {event.value.replace('_', ' ')}: {reason}")


def next_queue_state(queue: QueueState, event: QueueEvent) -> QueueState:
    """The queue state after ``event``, or RequestRefused saying why not."""
    try:
        return QUEUE_TRANSITIONS[queue, event]
    except KeyError:
        raise RequestRefused(f"cannot {event.value} the queue while it is {queue.value}") \
            from None


def mermaid(table: dict, title: str) -> str:
    """A Mermaid state diagram of one table, for README."""
    lines = [f"%% {title}", "stateDiagram-v2"]
    lines += [f"    {a.value} --> {b.value}: {event.value}" for (a, event), b in table.items()
              if a is not b]
    return "\n".join(lines)


def diagrams() -> str:
    return ("```mermaid\n" + mermaid(TRANSITIONS, "P:STATE") + "\n```\n\n"
            "```mermaid\n" + mermaid(QUEUE_TRANSITIONS, "P:QUEUE:STATE") + "\n```\n")


if __name__ == "__main__":
    print(diagrams())
