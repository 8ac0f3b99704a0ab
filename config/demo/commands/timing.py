"""Timing: waiting."""
import time
from typing import Annotated

try:
    from scriptserver.jobs.api import is_dry_run, message, pause_point, progress
except ImportError:  # outside the script server
    def progress(done, total=None): pass
    def pause_point(): pass
    def message(text): pass
    def is_dry_run(): return False

STEP = 0.1  # s: the longest sleep between progress reports and pause points


def wait(seconds: Annotated[float, "s", (0, 86400)]) -> None:
    """Wait for a number of seconds.

    The wait ends at its deadline to within a few milliseconds; time spent paused
    moves the deadline on, so the full time is always waited.

    Parameters
    ----------
    seconds : float
        How long to wait.
    """
    if is_dry_run():                    # waiting moves nothing: the dry run waits on its clock
        message(f"dry run: waiting {seconds:g} s")
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        progress(seconds - left, seconds)
        paused_from = time.monotonic()
        pause_point()
        deadline += time.monotonic() - paused_from
        time.sleep(min(STEP, max(0.0, deadline - time.monotonic())))
    progress(1, 1)


def estimate_wait(seconds: float) -> float:
    """wait(seconds) takes exactly that long."""
    return seconds
