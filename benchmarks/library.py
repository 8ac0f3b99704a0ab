"""The command library's own timings: figures the tests used to assert, measured here.

- demo ``wait``: its docstring promises it ends at its deadline "to within a few
  milliseconds". Measured as the time past the deadline of ``wait(seconds=0.35)``,
  loaded and called as the job process does (``load_command`` + ``check_call``),
  with ``time.monotonic()`` around the call. Outside a job the job API it calls
  (progress, pause points) does nothing, so this is the command's own accuracy.
- refresh with a hanging command file: a folder of two good files and one whose import
  never returns, ``CommandLibrary(timeout=1.0, file_timeout=0.5)``; from the call of
  ``refresh()`` to its return. The folder-wide describe gives up after ``timeout``,
  then each file is described on its own and the hanging one after ``file_timeout``, so
  the refresh costs about their sum, never the hang.
- refresh of the demo instrument: every demo command file described in a subprocess,
  as the IOC does at start and on ``COMMANDS:RELOAD``; no target.
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

from scriptserver.commands.library import CommandLibrary
from scriptserver.commands.loader import load_command
from scriptserver.commands.validate import check_call

from .report import Row, samples

DEMO_COMMANDS = Path(__file__).resolve().parent.parent / "config" / "demo" / "commands"
WAIT = 0.35                 # s asked of the demo wait
TIMEOUT, FILE_TIMEOUT = 1.0, 0.5

HANGING = "import threading\nthreading.Event().wait()   # an import that never returns\n"


def wait_overshoot(count: int) -> list[float]:
    call, description = load_command([DEMO_COMMANDS], "wait")
    args = check_call(description, {"seconds": WAIT})
    out = []
    for i in range(count + 1):                      # the first warms up
        t0 = time.monotonic()
        call(**args)
        if i:
            out.append(time.monotonic() - t0 - WAIT)
    return out


def refresh_times(folders: list[Path], count: int, **limits: float) -> tuple[list[float], dict]:
    """Seconds per refresh of a new library (as at IOC start), and the last one's errors."""
    out, errors = [], {}
    for _ in range(count):
        library = CommandLibrary(folders, **limits)
        t0 = time.monotonic()
        asyncio.run(library.refresh())
        out.append(time.monotonic() - t0)
        errors = library.errors()
    return out, errors


def measure(root: Path, quick: bool) -> list[Row]:
    waits, refreshes = (10, 3) if quick else (30, 8)
    folder = root / "commands"
    folder.mkdir()
    (folder / "beam.py").write_text("def set_ei(energy: float):\n    pass\n")
    (folder / "timing.py").write_text("def wait(seconds: float):\n    pass\n")
    (folder / "stuck.py").write_text(HANGING)
    hanging, errors = refresh_times([folder], refreshes, timeout=TIMEOUT,
                                    file_timeout=FILE_TIMEOUT)
    demo, _ = refresh_times([DEMO_COMMANDS], refreshes)
    limit = (TIMEOUT + FILE_TIMEOUT + 1.0) * 1e3
    return [
        samples(f"demo wait({WAIT:g} s): time past its deadline", wait_overshoot(waits))
        .under(10).note("the command's docstring: 'ends at its deadline to within a few "
                        "milliseconds'; time.monotonic() around the call, outside a job"),
        samples("command refresh, one import hanging for ever", hanging)
        .under(limit, label=f"timeout + file_timeout + 1 s = {limit:,.0f}")
        .note(f"timeout {TIMEOUT:g} s, file_timeout {FILE_TIMEOUT:g} s; the hanging file "
              f"is reported as: {errors.get(str(folder / 'stuck.py'), 'NOT REPORTED')}"),
        samples("command refresh, demo instrument", demo)
        .note("a new CommandLibrary describing config/demo/commands, as at IOC start"),
    ]
