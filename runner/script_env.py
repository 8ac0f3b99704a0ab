"""What a script finds around it: ``params``, and the instrument's commands by name.

Every command is there under its own name (``set_ei(25)`` in a script calls the
command), loaded from its file the first time the script calls it, so a script that
calls one command imports one command file. A name the script binds itself wins.
In a dry run, a command that does not declare dry-run behaviour (see
``commands/declared.py``) is skipped, not run, and reported as "not simulated".
"""
from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any, Callable

from scriptserver.commands.loader import load_command
from scriptserver.commands.validate import check_call


class LazyCommand:
    """A command, loaded on its first call; called with positional or named arguments."""

    def __init__(self, name: str, folders: list[Path], dry_run: bool,
                 skipped: Callable[[str], None]):
        self.__name__ = self.name = name
        self._folders, self._dry_run, self._skipped = folders, dry_run, skipped
        self._loaded: tuple[Callable[..., Any], dict[str, Any]] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._loaded is None:
            self._loaded = load_command(self._folders, self.name)
        function, description = self._loaded
        if self._dry_run and not description.get("simulated"):
            self._skipped(self.name)
            return None
        order = [p["name"] for p in description["parameters"]]
        if len(args) > len(order):
            raise TypeError(f"{self.name}() takes at most {len(order)} arguments "
                            f"({len(args)} given)")
        named = {**dict(zip(order, args)), **kwargs}
        return function(**check_call(description, named))

    def __repr__(self) -> str:
        return f"<command {self.name}>"


def script_globals(filename: str, params: dict[str, Any], commands: list[str],
                   folders: list[Path], dry_run: bool,
                   skipped: Callable[[str], None]) -> dict[str, Any]:
    namespace: dict[str, Any] = {name: LazyCommand(name, folders, dry_run, skipped)
                                 for name in commands if not hasattr(builtins, name)}
    namespace.update(__name__="__main__", __file__=filename, params=params)
    return namespace
