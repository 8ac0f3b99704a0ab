"""Estimate how long a batch of command calls will take. Run as a subprocess::

    python -m scriptserver.commands.estimate FOLDER... < calls.json

stdin: a JSON list of ``[command name, typed arguments]``; stdout: a JSON list of
seconds, ``null`` where there is no estimate or the estimate failed. Each command file
is imported once per batch. Whatever the files print goes to stderr.

With ``--parameters-valid`` first, the answer is instead, per call, what an IBEX script
definition's ``parameters_valid`` says is wrong (``null``: nothing, or not a definition).
"""
from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

from scriptserver.jobs.errors import RequestRefused

from .describe import stdout_kept_for_json
from .introspect import Command
from .loader import find_command

logger = logging.getLogger(__name__)


def estimate_calls(folders: list[Path], calls: list[tuple[str, dict[str, Any]]]
                   ) -> list[float | None]:
    """Seconds for each call, or None. Each command is looked up once per batch: a
    10,000-job batch of one command finds its file once, not 10,000 times."""
    imported: dict[Path, list[Command]] = {}
    found: dict[str, Command | None] = {}
    for name, _ in calls:
        if name not in found:
            try:
                found[name] = find_command(folders, name, imported)
            except RequestRefused as error:
                logger.warning("no estimate for %s: %s", name, error)
                found[name] = None
    return [_estimate_one(found[name], name, args) for name, args in calls]


def _estimate_one(command: Command | None, name: str, args: dict[str, Any]) -> float | None:
    if command is None or command.estimate is None:
        return None
    try:
        seconds = command.estimate(**args)
    except (Exception, SystemExit):
        logger.warning("estimate for %s(%s) failed", name, args, exc_info=True)
        return None
    if seconds is None:  # "don't know"
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
            or not math.isfinite(seconds) or seconds < 0:
        logger.warning("estimate for %s returned %r, not a number of seconds", name, seconds)
        return None
    return float(seconds)


def parameters_problems(folders: list[Path], calls: list[tuple[str, dict[str, Any]]]
                        ) -> list[str | None]:
    """What each call's ``parameters_valid`` says is wrong (None: nothing to say)."""
    imported: dict[Path, list[Command]] = {}
    answers: list[str | None] = []
    for name, args in calls:
        try:
            command = find_command(folders, name, imported)
            check = command.parameters_problem
            answers.append(check(**args) if check is not None else None)
        except RequestRefused as refused:
            answers.append(str(refused))
        except (Exception, SystemExit) as error:
            answers.append(f"{name}: parameters_valid failed: {type(error).__name__}: {error}")
    return answers


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    ask = estimate_calls
    if arguments[:1] == ["--parameters-valid"]:
        ask, arguments = parameters_problems, arguments[1:]
    folders = [Path(a) for a in arguments]
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    calls = json.load(sys.stdin)
    with stdout_kept_for_json() as out:
        json.dump(ask(folders, [(n, a) for n, a in calls]), out)
        out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
