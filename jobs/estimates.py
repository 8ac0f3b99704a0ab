"""How long jobs are expected to take: pure functions, no I/O.

Sources, best first (the first that gives a number wins; never a made-up one):

1. ``command``: the command's own estimate function (``estimate_<name>``, or an
   IBEX script definition's ``estimate_time``), run for the job's arguments;
2. ``history``: the median duration of earlier finished runs of the same job
   (same command with the same or similar arguments, same script file, same
   script source);
3. ``unknown``.

While a job runs, what remains is refined from the progress it reports.
"""
from __future__ import annotations

import math
from statistics import median
from typing import Any, Iterable

SIMILAR = 0.10          # numeric arguments within 10 % count as "similar"
TRUST_PROGRESS = 0.05   # below 5 % done, progress says too little about the rate


def similar_args(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for key, x in a.items():
        y = b[key]
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) \
                and not isinstance(x, bool) and not isinstance(y, bool):
            if not math.isclose(x, y, rel_tol=SIMILAR, abs_tol=1e-9):
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True


def from_history(job: dict[str, Any], past: Iterable[tuple[dict[str, Any], float]]) -> float | None:
    """Median duration of past runs of the same job; for commands, the same or similar args."""
    past = list(past)
    if "command" not in job:
        durations = [seconds for _, seconds in past]
    else:
        args = job.get("args", {})
        exact = [s for old, s in past if old.get("args", {}) == args]
        durations = exact or [s for old, s in past if similar_args(old.get("args", {}), args)]
    return round(median(durations), 3) if durations else None


def remaining(elapsed: float, progress: float | None, estimate: float | None) -> float | None:
    """Seconds left for the running job; None when nothing honest can be said."""
    if progress is not None and progress >= TRUST_PROGRESS:
        return max(0.0, elapsed / progress - elapsed)
    if estimate is not None:
        return max(0.0, estimate - elapsed)
    return None


def queue_eta(estimates: Iterable[float | None], current: float | None,
              running: bool) -> tuple[float, int]:
    """(seconds until the queue is done counting what is known, jobs whose time is unknown)."""
    known, unknown = 0.0, 0
    for seconds in list(estimates) + ([current] if running else []):
        if seconds is None:
            unknown += 1
        else:
            known += seconds
    return round(known, 1), unknown


def batch_progress(size: int, still_queued: int, current_in_batch: bool,
                   current_progress: float | None) -> float:
    """Fraction done of a batch (script generator loop unwound into jobs)."""
    if size <= 0:
        return 0.0
    done = size - still_queued - (1 if current_in_batch else 0)
    if current_in_batch:
        done += current_progress or 0.0
    return max(0.0, min(1.0, done / size))
