"""Dry run: VALIDATE of an 8-hour queue of demo commands.

The queue (``wait``, ``count``, ``set_ei``, ``move`` jobs adding up to about 8 hours by
their own estimates) is added, then ``VALIDATE`` ``queue`` is put with callback; the
time is from before the put until a monitor shows ``VALIDATE:RESULT`` with
``"finished": true``. The estimate the dry run yields (the simulated seconds) is
compared with the sum of the commands' own estimates.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from .harness import ScriptServerIOC, Watch, connect, text, wait_until
from .report import Row, samples, single

QUEUE = [{"command": "wait", "args": {"seconds": 1800}},
         {"command": "count", "args": {"seconds": 1800, "detectors": ["main"]}},
         {"command": "set_ei", "args": {"energy": 400}},
         {"command": "move", "args": {"axis": "sample_z", "position": 10}}] * 8


def measure(root: Path, quick: bool) -> list[Row]:
    ioc = ScriptServerIOC(root).start()
    connect(ioc.pv("QUEUE:ADD")).put(text(json.dumps(QUEUE)), wait=True, timeout=30)
    queue_pv = connect(ioc.pv("QUEUE"))

    def estimated():
        jobs = json.loads(queue_pv.get(as_string=True, use_monitor=False) or "[]")
        return jobs if jobs and all(j["estimate"] is not None for j in jobs) else None
    expected = sum(j["estimate"] for j in wait_until(estimated, timeout=30))
    result = Watch(ioc.pv("VALIDATE:RESULT"), as_string=True)
    validate = connect(ioc.pv("VALIDATE"))
    times, errors = [], []
    for _ in range(2 if quick else 5):
        t0 = time.monotonic()
        validate.put(text("queue"), wait=True, timeout=30)
        _, value = result.wait(lambda v: bool(v) and json.loads(v)["finished"], after=t0,
                               timeout=120)
        times.append(time.monotonic() - t0)
        verdict = json.loads(value)
        errors.append(abs(verdict["estimate"] - expected) / expected * 100)
    return [
        samples(f"dry run of a {expected / 3600:.1f}-hour queue ({len(QUEUE)} jobs)", times,
                unit="s", scale=1.0).under(10.0)
        .note("put VALIDATE 'queue' -> VALIDATE:RESULT finished; each job dry-run in its "
              "own process on a simulated clock"),
        single("dry-run estimate vs the commands' own estimates", max(errors), "% off")
        .under(5.0).note("worst of the runs"),
    ]
