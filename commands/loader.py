"""Loading one command to run it, inside the job subprocess.

The command's file is imported fresh (so the job runs the file as it is now), and the
same search order as the command library is used: folders as configured, then file
names; the first file that defines the command provides it.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from scriptserver.jobs.errors import RequestRefused

from . import files
from .annotations import CommandDefinitionError
from .introspect import Command, commands_in_module

logger = logging.getLogger(__name__)


def load_command(folders: list[Path], name: str) -> tuple[Callable[..., Any], dict[str, Any]]:
    """The callable taking the command's typed arguments, and its description.

    For an IBEX script definition the callable first asks ``parameters_valid`` and raises
    RequestRefused with its message if the values are not valid, then calls ``run``.
    Raises RequestRefused if the command is unknown or its file cannot be imported.
    """
    command = find_command([Path(f) for f in folders], name)
    return command.call, command.description


def find_command(folders: list[Path], name: str,
                 imported: dict[Path, list[Command]] | None = None) -> Command:
    """The command called ``name``; ``imported`` caches files already imported (per batch)."""
    imported = {} if imported is None else imported
    candidates = [p for p in files.command_files(folders) if files.may_define(p, name)]
    for path in candidates:
        if path not in imported:
            imported[path] = _commands_in_file(path)
        for command in imported[path]:
            if command.name == name:
                return command
    from .validate import unknown_command_message  # pydantic: only loaded when needed

    known = sorted({n for p in files.command_files(folders) for n in files.defined_names(p)})
    raise RequestRefused(unknown_command_message(name, known))


def _commands_in_file(path: Path) -> list[Command]:
    try:
        return commands_in_module(files.import_file(path), path)
    except CommandDefinitionError as error:
        raise RequestRefused(f"{path.name}: {error}") from None
    except (Exception, SystemExit) as error:
        logger.debug("importing %s failed", path, exc_info=True)
        raise RequestRefused(f"cannot load {path.name}: {files.error_text(error, path)}") from None
