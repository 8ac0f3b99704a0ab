"""What a command declares by what its code calls: pause points and dry-run support.

Read from the command file's source with ``ast`` (nothing runs):

- ``pausable``: the command calls ``pause_point()``, itself or through a function or
  method of the same file it calls. A deferred pause of a command without one would
  only take effect when the command ends, so the server refuses it (pause-now works).
- ``simulated``: the command calls ``is_dry_run()`` the same way, i.e. it says what it
  does in a dry run. A command that does not is "not simulated": a dry run skips it
  rather than let it move real hardware.
"""
from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any, Callable

from scriptserver.jobs.calls import Function, functions_by_name, reaches

PAUSE_POINT = ("pause_point",)
DRY_RUN_FLAG = ("is_dry_run",)


def declarations(function: Callable, path: Path) -> dict[str, bool]:
    """``{"pausable": ..., "simulated": ...}`` for a command's function (or IBEX ``run``)."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return {"pausable": False, "simulated": False}
    defined = functions_by_name(tree)
    start = _definition_of(inspect.unwrap(function), defined)
    if start is None:
        return {"pausable": False, "simulated": False}
    return {"pausable": reaches(start, PAUSE_POINT, defined),
            "simulated": reaches(start, DRY_RUN_FLAG, defined)}


def _definition_of(function: Any, defined: dict[str, list[Function]]) -> Function | None:
    """The ``def`` of ``function`` in the parsed file (a decorated one starts at its
    first decorator, which is where the code object says it starts)."""
    code = getattr(function, "__code__", None)
    candidates = defined.get(getattr(function, "__name__", ""), [])
    if code is None:
        return candidates[0] if len(candidates) == 1 else None
    for node in candidates:
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        if code.co_firstlineno in (node.lineno, first):
            return node
    return None
