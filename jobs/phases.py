"""Phases of a job (SKA SDP style): named steps, each waiting, running, finished or failed.

A job declares them as it goes (``with phase("align", expected_seconds=30):``) or up
front (``plan_phases(("align", 30), ("scan", 600))``, shown as waiting). Pure: the
clock (``time.time()`` seconds, so the IOC can compare ``started`` with its own) is
passed in.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

STATES = ("waiting", "running", "finished", "failed")


@dataclass
class Phase:
    name: str
    expected: float | None = None
    state: str = "waiting"
    started: float | None = None
    actual: float | None = None

    def as_dict(self, now: float) -> dict[str, Any]:
        actual = self.actual
        if self.state == "running" and self.started is not None:
            actual = now - self.started
        return {"name": self.name, "state": self.state, "expected": self.expected,
                "actual": None if actual is None else round(actual, 3),
                "started": self.started}


class PhaseList:
    """The job's phases in the order they were planned or started."""

    def __init__(self) -> None:
        self.phases: list[Phase] = []

    def plan(self, planned: Iterable[str | tuple[str, float | None]]) -> None:
        for item in planned:
            name, expected = (item, None) if isinstance(item, str) else item
            if self._waiting(str(name)) is None:
                self.phases.append(Phase(str(name), _seconds(expected)))

    def start(self, name: str, expected: float | None, now: float) -> None:
        phase = self._waiting(name)
        if phase is None:
            phase = Phase(name)
            self.phases.append(phase)
        if expected is not None:
            phase.expected = _seconds(expected)
        phase.state, phase.started = "running", now

    def end(self, name: str, failed: bool, now: float) -> None:
        for phase in reversed(self.phases):
            if phase.name == name and phase.state == "running":
                phase.state = "failed" if failed else "finished"
                phase.actual = now - (phase.started or now)
                return

    def current(self) -> str:
        running = [p.name for p in self.phases if p.state == "running"]
        return running[-1] if running else ""

    def as_list(self, now: float) -> list[dict[str, Any]]:
        return [p.as_dict(now) for p in self.phases]

    def _waiting(self, name: str) -> Phase | None:
        return next((p for p in self.phases if p.name == name and p.state == "waiting"), None)


def _seconds(value: Any) -> float | None:
    return None if value is None else max(0.0, float(value))


def current(phases: list[dict[str, Any]]) -> str:
    """The running phase's name in a reported list ('' when none)."""
    running = [p["name"] for p in phases if p.get("state") == "running"]
    return running[-1] if running else ""


def remaining(phases: list[dict[str, Any]], now: float,
              paused_after: Callable[[float], float] = lambda moment: 0.0) -> float | None:
    """Seconds left by the phases' expected durations, or None unless every phase not yet
    done declares one. ``paused_after(t)``: seconds the job was paused since ``t``, which
    do not count as time spent in the running phase."""
    left = 0.0
    unfinished = [p for p in phases if p.get("state") in ("waiting", "running")]
    if not unfinished or any(p.get("expected") is None for p in unfinished):
        return None
    for phase in unfinished:
        if phase["state"] == "waiting":
            left += phase["expected"]
        else:
            started = phase.get("started") or now
            left += max(0.0, phase["expected"] - (now - started - paused_after(started)))
    return round(left, 3)
