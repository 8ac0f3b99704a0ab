"""Align the sample: scan the rotation stage and report where the peak is.

A script-server-aware script: it reports progress and has pause points, and
still runs with plain `python align.py` (the calls are then no-ops).
"""
import math
import time

try:
    from scriptserver.jobs.api import message, pause_point, progress
except ImportError:
    def message(text): print(text)
    def pause_point(): pass
    def progress(done, total=None): pass

steps = 20
best_angle, best_counts = None, -1.0
message("scanning rotation")
for i in range(steps):
    pause_point()
    angle = -5 + i * 0.5
    counts = 1000 * math.exp(-((angle - 1.2) ** 2) / 2)
    time.sleep(0.1)
    if counts > best_counts:
        best_angle, best_counts = angle, counts
    progress(i + 1, steps)
message(f"peak at {best_angle:.1f} deg")
print(f"aligned: peak at {best_angle:.1f} deg ({best_counts:.0f} counts)")
