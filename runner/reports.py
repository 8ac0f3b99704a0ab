"""What a job may report over its channel, checked before anything else sees it.

A job is user code: it can write anything to its channel, by mistake or on
purpose. Each report kind has a shape (its fields, their types and bounds); a
report that does not fit is refused with a reason, and the runner then ends that
job as failed. Nothing unchecked reaches the service.
"""
from __future__ import annotations

import json
import math
from typing import Any, Callable

MAX_REPORT_BYTES = 1_048_576                 # one JSON line; a traceback fits easily
MAX_MESSAGE = 1_000                          # characters (the job API cuts to this)
MAX_ERROR = 10_000
MAX_TRACEBACK = 200_000
MAX_STACK = 10_000                           # frames of a line report
MAX_NAME = 1_000                             # a function name in a stack
ENDINGS = ("finished", "failed", "aborted")


class BadReport(ValueError):
    """A report from a job that is not one of the kinds below, or not in its shape."""


Check = Callable[[str, Any], Any]


def fraction(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or not 0 <= value <= 1:
        raise BadReport(f"{field} must be a number from 0 to 1, not {_show(value)}")
    return float(value)


def count(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        raise BadReport(f"{field} must be a whole number from 0, not {_show(value)}")
    return value


def text(limit: int) -> Check:
    def check(field: str, value: Any) -> str:
        if not isinstance(value, str):
            raise BadReport(f"{field} must be text, not {_show(value)}")
        if len(value) > limit:
            raise BadReport(f"{field} is {len(value)} characters long; at most {limit}")
        return value
    return check


def one_of(*allowed: str) -> Check:
    def check(field: str, value: Any) -> str:
        if value not in allowed:
            raise BadReport(f"{field} must be one of {', '.join(allowed)}, not {_show(value)}")
        return value
    return check


def stack(field: str, value: Any) -> list[list]:
    """[[function name, line], ...], outermost first."""
    if not isinstance(value, list) or len(value) > MAX_STACK:
        raise BadReport(f"{field} must be a list of at most {MAX_STACK} [name, line] pairs")
    for frame in value:
        if not (isinstance(frame, list) and len(frame) == 2):
            raise BadReport(f"{field} must hold [name, line] pairs, not {_show(frame)}")
        text(MAX_NAME)(f"{field} name", frame[0])
        count(f"{field} line", frame[1])
    return value


MAX_PHASES = 1_000
PHASE_STATES = ("waiting", "running", "finished", "failed")


def seconds(field: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise BadReport(f"{field} must be a number of seconds from 0, or null, not {_show(value)}")
    return value


PHASE: dict[str, Check] = {"name": text(MAX_NAME), "state": one_of(*PHASE_STATES),
                           "expected": seconds, "actual": seconds, "started": seconds}


def names(field: str, value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_PHASES:
        raise BadReport(f"{field} must be a list of at most {MAX_PHASES} names")
    for name in value:
        text(MAX_NAME)(f"{field} name", name)
    return value


def phases(field: str, value: Any) -> list[dict[str, Any]]:
    """[{name, state, expected, actual, started}, ...] (see jobs/phases.py)."""
    if not isinstance(value, list) or len(value) > MAX_PHASES:
        raise BadReport(f"{field} must be a list of at most {MAX_PHASES} phases")
    for phase in value:
        if not isinstance(phase, dict) or set(phase) != set(PHASE):
            raise BadReport(f"{field} must hold phases with the fields "
                            f"{', '.join(PHASE)}, not {_show(phase)}")
        for name, check in PHASE.items():
            check(f"{field} {name}", phase[name])
    return value


# kind -> {field: (check, required)}
REPORTS: dict[str, dict[str, tuple[Check, bool]]] = {
    "progress": {"v": (fraction, True)},
    "message": {"v": (text(MAX_MESSAGE), True)},
    "line": {"line": (count, True), "stack": (stack, False)},
    "paused": {"resumes": (count, False)},
    "resumed": {},
    "phases": {"v": (phases, True)},
    "ended": {"status": (one_of(*ENDINGS), True), "error": (text(MAX_ERROR), False),
              "traceback": (text(MAX_TRACEBACK), False),
              # a dry run's: the time it simulated, the commands it could not simulate
              "simulated_seconds": (seconds, False), "not_simulated": (names, False)},
}


def parse(line: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of one line from a job, checked; BadReport says what is wrong."""
    try:
        report = json.loads(line)
    except ValueError:
        raise BadReport(f"not JSON: {_show(line)}") from None
    if not isinstance(report, dict):
        raise BadReport(f"not a JSON object: {_show(report)}")
    kind = report.pop("t", None)
    if not isinstance(kind, str) or kind not in REPORTS:
        raise BadReport(f"unknown report kind {_show(kind)}; known: {', '.join(REPORTS)}")
    shape = REPORTS[kind]
    unknown = set(report) - set(shape)
    if unknown:
        raise BadReport(f"'{kind}' report has unknown field(s) {', '.join(sorted(unknown))}")
    fields = {}
    for name, (check, required) in shape.items():
        if name in report:
            fields[name] = check(f"'{kind}' {name}", report[name])
        elif required:
            raise BadReport(f"'{kind}' report lacks its '{name}' field")
    return kind, fields


def _show(value: Any, limit: int = 80) -> str:
    shown = repr(value)
    return shown if len(shown) <= limit else shown[:limit] + "..."
