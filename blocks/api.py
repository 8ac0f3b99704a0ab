"""``cget``, ``cset`` and ``waitfor``: blocks by name in a job, with genie_python's meanings.

    from scriptserver.blocks import cget, cset, waitfor

    cset("TEMP1", 25.0, wait=True, lowlimit=24.9, highlimit=25.1)
    print(cget("TEMP1"))    # {'name': 'TEMP1', 'value': 25.0, 'unit': 'K', 'alarm': 'NO_ALARM', ...}
    if not waitfor("TEMP1", lambda t: t > 24, maxwait=60):
        print("still cold")

A block name is found as genie_python finds it: ``$(MYPVPREFIX)CS:SB:<NAME>``, writes go
to ``<block>:SP`` when it exists; an unknown name raises ``UnknownBlock`` with a
"did you mean" from the block server's ``BLOCKNAMES``. Unlike genie_python, a
``waitfor`` that runs out of time says so: it returns False and prints why (genie_python
returns None either way). While waiting, a pause asked for by the operator takes effect.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable

from scriptserver.jobs import api as job

from . import channel
from .names import (BLOCK_NAMES_PV, SETPOINT, BlockError, UnknownBlock, block_pv,
                    decode_block_names, instrument_prefix)

RC_ENABLE, RC_LOW, RC_HIGH = ":RC:ENABLE", ":RC:LOW", ":RC:HIGH"    # run control, as IBEX
POLL = 0.1                     # s between reads while waiting, as genie_python
_setpoints: dict[str, str] = {}     # block PV -> the PV a cset writes (looked up once)


def block_names() -> list[str]:
    """The current configuration's block names, from the block server."""
    raw = channel.read_raw(instrument_prefix() + BLOCK_NAMES_PV)
    return decode_block_names(raw)


def _known_names() -> list[str] | None:
    try:
        return block_names()
    except (OSError, ValueError, TimeoutError, BlockError):
        return None


def _pv(name: str) -> str:
    """The block's PV, after checking that it is there."""
    if not isinstance(name, str) or not name:
        raise BlockError(f"a block name is a string such as 'TEMP1', not {name!r}")
    pv = block_pv(name)
    if not channel.exists(pv):
        known = _known_names()
        if known is not None and name.upper() in (k.upper() for k in known):
            raise BlockError(f"block {name!r} is in the configuration but not connected "
                             f"({pv} does not answer)")
        raise UnknownBlock(name, known)
    return pv


def cget(block: str) -> dict[str, Any]:
    """The block's name, value, unit, run control settings and alarm (as genie_python's)."""
    pv = _pv(block)
    value, severity, native = channel.read(pv)
    unit = None if native in channel.TEXT_TYPES else channel.read_text(pv + ".EGU")
    runcontrol: Any = "UNKNOWN"
    low: Any = "UNKNOWN"
    high: Any = "UNKNOWN"
    if channel.exists(pv + RC_ENABLE):
        runcontrol = channel.read_text(pv + RC_ENABLE) == "YES"
        low, high = channel.read(pv + RC_LOW)[0], channel.read(pv + RC_HIGH)[0]
    return {"connected": True, "name": block, "value": value, "unit": unit,
            "runcontrol": runcontrol, "lowlimit": low, "highlimit": high,
            "alarm": "NO_ALARM" if severity == "NO" else severity}


def cset(*args: Any, runcontrol: bool | None = None, lowlimit: float | None = None,
         highlimit: float | None = None, wait: bool | None = None, maxwait: float | None = None,
         **blocks: Any) -> None:
    """Set blocks: ``cset("TEMP1", 25)`` or ``cset(TEMP1=25, TEMP2=30)``.

    ``wait=True`` waits until the block reads the value (or lies within
    ``lowlimit``..``highlimit``); ``runcontrol``, and the limits without ``wait``, set the
    block's run control. Writes go to ``<block>:SP`` when the block has one.
    """
    if len(args) > 2:
        raise BlockError("cset takes a block and a value, e.g. cset('TEMP1', 25), or "
                         "block=value pairs, e.g. cset(TEMP1=25)")
    if args:
        pairs = [(str(args[0]), args[1] if len(args) == 2 else None)]
    elif blocks:
        pairs = list(blocks.items())
    else:
        raise BlockError("cset needs a block and a value, e.g. cset('TEMP1', 25)")
    if wait and runcontrol is not None:
        raise BlockError("cset cannot set run control and wait at the same time")
    if wait and pairs[0][1] is None:
        raise BlockError("cset cannot wait: no value was given to wait for")
    if len(pairs) > 1 and any(x is not None for x in (runcontrol, lowlimit, highlimit, wait)):
        raise BlockError("run control and wait can be set for one block at a time")
    if lowlimit is not None and highlimit is not None and lowlimit > highlimit:
        lowlimit, highlimit = highlimit, lowlimit
    for name, value in pairs:
        pv = _pv(name)
        if value is not None:
            channel.write(_setpoint(pv), value)
        if wait:
            if not waitfor(name, value, lowlimit=lowlimit, highlimit=highlimit, maxwait=maxwait):
                raise BlockError(f"cset {name}={value!r}: not reached within {maxwait} s")
            continue
        if runcontrol is not None:
            channel.write(pv + RC_ENABLE, 1 if runcontrol else 0)
        if lowlimit is not None:
            channel.write(pv + RC_LOW, lowlimit)
        if highlimit is not None:
            channel.write(pv + RC_HIGH, highlimit)


def _setpoint(pv: str) -> str:
    if pv not in _setpoints:
        _setpoints[pv] = pv + SETPOINT if channel.exists(pv + SETPOINT) else pv
    return _setpoints[pv]


def waitfor(block: str | None = None, value: Any = None, lowlimit: float | None = None,
            highlimit: float | None = None, maxwait: float | None = None,
            seconds: float | None = None, minutes: float | None = None,
            hours: float | None = None, early_exit: Callable[[], bool] = lambda: False,
            quiet: bool = False, **pars: Any) -> bool:
    """Wait until a block reaches a value, lies within limits, or meets a condition.

    ``value`` is a value (numbers: equal; text: the same string) or a condition, a
    function of the block's value: ``waitfor("TEMP1", lambda t: t > 24)``. ``seconds``/
    ``minutes``/``hours`` wait for a time instead (or as well: whichever comes first).
    ``waitfor(TEMP1=25)`` is ``waitfor("TEMP1", 25)``. Returns True when the wait ended
    as asked, False when ``maxwait`` seconds passed first (and says so in the output).
    """
    if block is None and pars:
        if len(pars) > 1:
            raise BlockError("waitfor waits for one block at a time")
        block, value = next(iter(pars.items()))
    elif pars:
        raise BlockError(f"unexpected argument(s) {', '.join(pars)} to waitfor")
    duration = sum(x * k for x, k in ((seconds, 1), (minutes, 60), (hours, 3600)) if x)
    if block is None and not duration:
        raise BlockError("waitfor needs a block and a value, or seconds/minutes/hours")
    reached = _condition(block, value, lowlimit, highlimit) if block is not None else None
    pv = _pv(block) if block is not None else ""
    start = time.monotonic()
    while True:
        now = time.monotonic() - start
        if reached is not None and reached(channel.read(pv)[0]):
            return True
        if duration and now >= duration:
            return True
        if early_exit():
            return True
        if maxwait is not None and now >= maxwait:
            current = channel.read(pv)[0] if pv else None
            text = f"waitfor timed out after {maxwait} s" + (
                f": {block} is {current!r}" if pv else "")
            if not quiet:
                print(text, flush=True)
            job.message(text)
            return False
        job.pause_point()
        time.sleep(POLL)


def _condition(block: str, value: Any, low: float | None,
               high: float | None) -> Callable[[Any], bool]:
    if callable(value):
        return lambda current: bool(value(current))
    if value is None and low is None and high is None:
        raise BlockError(f"waitfor {block}: give a value, a condition, lowlimit or highlimit")
    low = value if low is None and not callable(value) else low
    high = value if high is None and not callable(value) else high
    if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
        low, high = high, low

    def reached(current: Any) -> bool:
        if isinstance(current, str) or isinstance(low, str):
            return str(current) == str(low if low is not None else high)
        if isinstance(current, float) and math.isnan(current):
            return False
        return (low is None or current >= low) and (high is None or current <= high)
    return reached
