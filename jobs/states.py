"""The rules of the script server, as data.

Two small state machines, each a table of (state, event) -> next state that the
manager consults and the tests walk exhaustively; README's state diagrams are
generated from these tables (``python -m scriptserver.jobs.states``).

``State`` is what the current job is doing (``P:STATE``); ``QueueState`` is
whether the server takes the next job from the queue (``P:QUEUE:STATE``).
A pair missing from a table is refused, with the reason from ``REFUSALS``.
"""
from __future__ import annotations

from enum import Enum

from .errors import RequestRefused


class State(str, Enum):
    IDLE = "IDLE"            # no job running
    RUNNING = "RUNNING"      # a job is running
    PAUSING = "PAUSING"      # pause asked for; waiting for the job's pause point
    PAUSED = "PAUSED"        # the job (or, after a job ended while pausing, the queue) is held
    ABORTING = "ABORTING"    # abort asked for; the job's cleanup runs, then it is killed


class QueueState(str, Enum):
    STOPPED = "STOPPED"      # queued jobs wait
    RUNNING = "RUNNING"      # the next job starts when the current one ends, or as soon as one is added
    STOPPING = "STOPPING"    # the current job finishes, then the queue stops


S, Q = State, QueueState

# Operator actions are the lower-case events; the others are reported by the runner.
TRANSITIONS: dict[tuple[State, str], State] = {
    (S.IDLE, "launch"): S.RUNNING,
    (S.RUNNING, "pause"): S.PAUSING,
    (S.RUNNING, "pause_now"): S.PAUSING,
    (S.PAUSING, "pause_now"): S.PAUSING,
    (S.PAUSING, "job_paused"): S.PAUSED,
    (S.PAUSED, "job_resumed"): S.RUNNING,     # the job says it runs again
    (S.PAUSING, "resume"): S.RUNNING,         # cancels a pause not yet reached
    (S.PAUSED, "resume"): S.RUNNING,
    (S.PAUSED, "release"): S.IDLE,            # resume when the queue, not a job, was held
    (S.RUNNING, "abort"): S.ABORTING,
    (S.PAUSING, "abort"): S.ABORTING,
    (S.PAUSED, "abort"): S.ABORTING,
    (S.RUNNING, "job_ended"): S.IDLE,
    (S.PAUSING, "job_ended"): S.PAUSED,       # ended before its pause point: hold the queue
    (S.PAUSED, "job_ended"): S.IDLE,          # died while paused (killed from outside)
    (S.ABORTING, "job_ended"): S.IDLE,
}

REFUSALS: dict[str, dict[State, str]] = {
    "launch": {s: "a job is already running" for s in S if s is not S.IDLE},
    "pause": {
        S.IDLE: "no job is running, so there is nothing to pause",
        S.PAUSING: "a pause is already on its way; use JOB:PAUSE:NOW to pause at once",
        S.PAUSED: "the job is already paused",
        S.ABORTING: "the job is being aborted",
    },
    "pause_now": {
        S.IDLE: "no job is running, so there is nothing to pause",
        S.PAUSED: "the job is already paused",
        S.ABORTING: "the job is being aborted",
    },
    "resume": {
        S.IDLE: "nothing is paused, so there is nothing to resume",
        S.RUNNING: "the job is running, not paused",
        S.ABORTING: "the job is being aborted and cannot be resumed",
    },
    "release": {s: "the queue is not held" for s in S if s is not S.PAUSED},
    "abort": {
        S.IDLE: "no job is running, so there is nothing to abort",
        S.ABORTING: "the job is already being aborted",
    },
}

QUEUE_TRANSITIONS: dict[tuple[QueueState, str], QueueState] = {
    (Q.STOPPED, "start"): Q.RUNNING,
    (Q.RUNNING, "start"): Q.RUNNING,
    (Q.STOPPING, "start"): Q.RUNNING,         # changed your mind: keep going
    (Q.STOPPED, "stop"): Q.STOPPED,
    (Q.RUNNING, "stop"): Q.STOPPING,
    (Q.STOPPING, "stop"): Q.STOPPING,
    (Q.STOPPING, "drained"): Q.STOPPED,       # the job it waited for has ended
    (Q.RUNNING, "failed"): Q.STOPPED,         # a job failed and the mode is stop-on-failure
    (Q.STOPPING, "failed"): Q.STOPPED,
    (Q.STOPPED, "failed"): Q.STOPPED,
    (Q.RUNNING, "aborted"): Q.STOPPED,
    (Q.STOPPING, "aborted"): Q.STOPPED,
    (Q.STOPPED, "aborted"): Q.STOPPED,
}

# Queue actions that depend on what the job is doing: (state, action) -> why not.
QUEUE_REFUSALS: dict[tuple[State, str], str] = {
    (S.PAUSED, "start"): "the queue is paused: resume (JOB:RESUME) or abort the paused job "
                         "(JOB:ABORT) before starting the queue",
    (S.PAUSING, "start"): "a pause is on its way: resume (JOB:RESUME) or abort (JOB:ABORT) "
                          "before starting the queue",
    (S.ABORTING, "start"): "the current job is being aborted; start the queue when it has ended",
}


def next_state(state: State, event: str) -> State:
    """The state after ``event``, or RequestRefused saying why not."""
    try:
        return TRANSITIONS[state, event]
    except KeyError:
        reason = REFUSALS.get(event, {}).get(state, f"not possible while {state.value}")
        raise RequestRefused(f"cannot {event.replace('_', ' ')}: {reason}") from None


def next_queue_state(queue: QueueState, event: str, state: State) -> QueueState:
    """The queue state after ``event``, or RequestRefused saying why not."""
    if (state, event) in QUEUE_REFUSALS:
        raise RequestRefused(f"cannot {event} the queue: {QUEUE_REFUSALS[state, event]}")
    try:
        return QUEUE_TRANSITIONS[queue, event]
    except KeyError:
        raise RequestRefused(f"cannot {event} the queue while it is {queue.value}") from None


def mermaid(table: dict, title: str) -> str:
    """A Mermaid state diagram of one table, for README."""
    lines = [f"%% {title}", "stateDiagram-v2"]
    lines += [f"    {a.value} --> {b.value}: {event}" for (a, event), b in table.items()
              if a is not b]
    return "\n".join(lines)


def diagrams() -> str:
    return ("```mermaid\n" + mermaid(TRANSITIONS, "P:STATE") + "\n```\n\n"
            "```mermaid\n" + mermaid(QUEUE_TRANSITIONS, "P:QUEUE:STATE") + "\n```\n")


if __name__ == "__main__":
    print(diagrams())
