"""CA round trip: the script server's PVs against a C IOC's records, same client, same calls.

Both IOCs run at once on loopback; pyepics (libca) does the same call on each, in
alternating blocks so that drift on the machine falls on both alike.
- put with callback: ``QUEUE:STOP`` with the queue stopped (accepted, changes nothing,
  touches no job) against a ``longout`` record;
- caget of a status PV: ``QUEUE:LEN`` (LONG) against a ``longin``;
- caget of a text PV: ``ERROR`` (CHAR waveform, 10,000) against a CHAR ``waveform``;
- put with callback to a PV the same client monitors, as a GUI does: ``QUEUE:MODE``
  toggled between its two values (no job runs) against the ``longout`` toggled 0/1.
"""
from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Callable

from .harness import ScriptServerIOC, SoftIOC, Watch, connect
from .report import Row, samples

RECORDS = """
record(longout, "$(P)CTRL") {}
record(longin, "$(P)LEN") {}
record(waveform, "$(P)TEXT") {
    field(FTVL, "CHAR")
    field(NELM, "10000")
}
"""
BLOCK = 20


def accepted(name: str, value: int) -> None:
    """One put with callback through caproto's client, which raises with the server's words
    when the put is refused: a refused put must not be what the table times."""
    from caproto.sync.client import write
    write(name, value, notify=True, timeout=10, repeater=False)


def timed(operation: Callable[[], object], count: int) -> list[float]:
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        operation()
        out.append(time.perf_counter() - t0)
    return out


def compare(ours: Callable[[], object], theirs: Callable[[], object],
            count: int, block: int = BLOCK) -> tuple[list[float], list[float]]:
    timed(ours, min(50, block))                     # warm up both
    timed(theirs, min(50, block))
    a: list[float] = []
    b: list[float] = []
    for _ in range(max(1, count // block)):
        a += timed(ours, block)
        b += timed(theirs, block)
    return a, b


def toggling(pv, values: tuple) -> Callable[[], object]:
    cycle = itertools.cycle(values)
    return lambda: pv.put(next(cycle), wait=True, timeout=5)


def measure(root: Path, quick: bool) -> list[Row]:
    count = 400 if quick else 2000
    c_ioc = SoftIOC(root, RECORDS).start()
    ioc = ScriptServerIOC(root).start()

    stop, ctrl = connect(ioc.pv("QUEUE:STOP")), connect(c_ioc.pv("CTRL"))
    length, longin = connect(ioc.pv("QUEUE:LEN")), connect(c_ioc.pv("LEN"))
    error, waveform = connect(ioc.pv("ERROR")), connect(c_ioc.pv("TEXT"))
    state = connect(ioc.pv("QUEUE:STATE"))
    if state.get(as_string=True, use_monitor=False) != "STOPPED":
        raise RuntimeError("the queue should be stopped for QUEUE:STOP to be a no-op")

    accepted(ioc.pv("QUEUE:STOP"), 1)
    rows = []
    ours, theirs = compare(lambda: stop.put(1, wait=True, timeout=5),
                           lambda: ctrl.put(1, wait=True, timeout=5), count)
    rows.append(samples("put with callback (QUEUE:STOP vs longout)", ours, baseline=theirs)
                .ratio_within(2, 5))
    ours, theirs = compare(lambda: length.get(use_monitor=False, timeout=5),
                           lambda: longin.get(use_monitor=False, timeout=5), count)
    rows.append(samples("caget status (QUEUE:LEN vs longin)", ours, baseline=theirs)
                .ratio_within(1.5, 2))
    ours, theirs = compare(lambda: error.get(as_string=True, use_monitor=False, timeout=5),
                           lambda: waveform.get(as_string=True, use_monitor=False, timeout=5),
                           count)
    rows.append(samples("caget text (ERROR vs CHAR waveform)", ours, baseline=theirs)
                .ratio_within(2, 5))
    watched = [Watch(ioc.pv("QUEUE:MODE")), Watch(c_ioc.pv("CTRL"))]
    mode, original = connect(ioc.pv("QUEUE:MODE")), None
    original = mode.get(use_monitor=False)
    accepted(ioc.pv("QUEUE:MODE"), original)
    ours, theirs = compare(toggling(mode, (1, 0)), toggling(ctrl, (1, 0)), count // 5, block=20)
    mode.put(original, wait=True)
    rows.append(samples("put with callback, monitored (QUEUE:MODE vs longout)", ours,
                        baseline=theirs).ratio_within(1.5, 5)
                .note("the client monitors the PV it writes, and the value changes each put"))
    for watch in watched:
        watch.close()
    rows[0].note("baseline: a C IOC (epicscorelibs softIoc, RSRV) on the same machine, same "
                 "pyepics calls, in alternating blocks of 20")
    return rows
