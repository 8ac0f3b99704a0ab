"""The simulated clock of a dry run: sleeping takes no time, but the job's clock moves on.

In a dry-run job process ``time.sleep`` returns at once and advances the clock by the
time asked for; ``time.time``, ``time.monotonic``, ``time.perf_counter`` (and their
``_ns`` forms) as the job sees them include what was slept. A dry run of an 8-hour
queue so takes seconds, and the simulated seconds it took are its estimate.

Only calls through the ``time`` module are simulated: a module that did
``from time import sleep`` before the job started, ``threading.Event.wait`` or
``asyncio.sleep`` still take real time.
"""
from __future__ import annotations

import threading
import time

SIMULATED = ("sleep", "time", "monotonic", "perf_counter", "time_ns", "monotonic_ns",
             "perf_counter_ns")


class SimulatedClock:
    def __init__(self) -> None:
        self.real = {name: getattr(time, name) for name in SIMULATED}
        self.slept = 0.0
        self._lock = threading.Lock()
        self._start = self.real["monotonic"]()

    def install(self) -> None:
        """From now on, in this process, time as the job sees it is simulated."""
        seconds = {"time": "time", "monotonic": "monotonic", "perf_counter": "perf_counter"}
        for name, real in seconds.items():
            setattr(time, name, self._shifted(self.real[real]))
            setattr(time, name + "_ns", self._shifted_ns(self.real[real]))
        time.sleep = self.sleep

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        with self._lock:
            self.slept += float(seconds)

    def elapsed(self) -> float:
        """Simulated seconds since the clock was made: real time plus all that was slept."""
        return self.real["monotonic"]() - self._start + self.slept

    def _shifted(self, real):
        return lambda: real() + self.slept

    def _shifted_ns(self, real):
        return lambda: int((real() + self.slept) * 1e9)
