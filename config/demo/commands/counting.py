"""Counting: the detectors (simulated counts)."""
import random
import time
from typing import Annotated, Literal

try:
    from scriptserver.jobs.api import is_dry_run, message, pause_point, progress
except ImportError:  # outside the script server
    def progress(done, total=None): pass
    def pause_point(): pass
    def message(text): pass
    def is_dry_run(): return False

STEP = 0.1        # s between progress reports
SAVE_TIME = 0.3   # s to write the data file
RATES = {"main": 1500.0, "monitor": 20000.0, "diffraction": 300.0}  # counts/s

Detector = Literal["main", "monitor", "diffraction"]


def count(seconds: Annotated[float, "s", (0, 86400)],
          detectors: list[Detector] = ["main", "monitor"]) -> dict:
    """Count on the detectors for a time, then save the data.

    Time spent paused is not counted.

    Parameters
    ----------
    seconds : float
        Counting time, in seconds.
    detectors : list of str
        Detectors to read out: any of main, monitor, diffraction.

    Returns the counts of each detector.
    """
    counts = {name: 0 for name in detectors}
    message(f"counting {', '.join(detectors)} for {seconds:g} s")
    counted = 0.0
    while counted < seconds:
        step = min(STEP, seconds - counted)
        time.sleep(step)
        counted += step
        for name in counts:
            counts[name] += int(random.gauss(RATES[name] * step, (RATES[name] * step) ** 0.5))
        progress(counted, seconds + SAVE_TIME)
        pause_point()
    message("dry run: no data saved" if is_dry_run() else "saving data")
    time.sleep(SAVE_TIME)
    progress(1, 1)
    message("counts: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return counts


def estimate_count(seconds: float) -> float:
    """Seconds count(seconds) takes, saving included."""
    return seconds + SAVE_TIME
