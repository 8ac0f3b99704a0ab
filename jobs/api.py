"""The job API: what a script-server-aware script or command imports.

    from scriptserver.jobs.api import progress, pause_point, message, is_dry_run

Outside the script server (plain ``python script.py``) every call is a no-op,
so the same script runs unchanged on a laptop. Inside, the calls travel to the
server over the job's channel, rate-limited so a tight loop cannot flood it.
"""
from __future__ import annotations

from typing import Any, Protocol


class _Runtime(Protocol):
    dry_run: bool

    def report(self, kind: str, value: Any) -> None: ...
    def pause_point(self) -> None: ...


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
