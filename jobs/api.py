"""The job API: what a script-server-aware script or command imports.

    from scriptserver.jobs.api import progress, pause_point, message, is_dry_run, phase

Outside the script server (plain ``python script.py``) every call is a no-op,
so the same script runs unchanged on a laptop. Inside, the calls travel to the
server over the job's channel, rate-limited so a tight loop cannot flood it.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Protocol


class _Runtime(Protocol):
    dry_run: bool

    def report(self, kind: str, value: Any) -> None: ...
    def pause_point(self) -> None: ...
    def plan_phases(self, planned: list) -> None: ...
    def phase_started(self, name: str, expected: float | None) -> None: ...
    def phase_ended(self, name: str, failed: bool) -> None: ...


_runtime: _Runtime | None = None      # set by the worker inside a job process


def progress(done: float, total: float | None = None) -> None:
    """Report how far the job is: a fraction (0..1) when ``total`` is None, else done of total."""
    if _runtime is None:
        return
    fraction = done if total is None else (done / total if total else 1.0)
    _runtime.report("progress", min(max(float(fraction), 0.0), 1.0))


def pause_point() -> None:
    """A safe place to pause: if the operator asked for a pause, wait here until resumed."""
    if _runtime is not None:
        _runtime.pause_point()


def message(text: str) -> None:
    """Say what the job is doing now (a phase or a note); shown in P:JOB:MESSAGE."""
    if _runtime is not None:
        _runtime.report("message", str(text)[:1000])


def is_dry_run() -> bool:
    """True when the job is being validated, not run for real: move nothing."""
    return bool(_runtime and _runtime.dry_run)


@contextmanager
def phase(name: str, expected_seconds: float | None = None) -> Iterator[None]:
    """A named step of the job, shown in P:JOB:PHASE and P:JOB:PHASES::

        with phase("count", expected_seconds=600):
            ...

    It is ``running`` inside the block, then ``finished`` (or ``failed`` if the block
    raised). While every phase not yet done declares ``expected_seconds``, the job's
    remaining time is their sum (minus the time the running one has taken).
    """
    if _runtime is None:
        yield
        return
    _runtime.phase_started(str(name), expected_seconds)
    try:
        yield
    except BaseException:
        _runtime.phase_ended(str(name), failed=True)
        raise
    _runtime.phase_ended(str(name), failed=False)


def plan_phases(*planned: str | tuple[str, float | None]) -> None:
    """Declare the phases to come, shown as ``waiting`` until they start:
    ``plan_phases(("align", 30), ("count", 600), "save")``."""
    if _runtime is not None:
        _runtime.plan_phases(list(planned))
