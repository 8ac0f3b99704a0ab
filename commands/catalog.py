"""Putting the commands of all files together: one file owns each command name.

Pure: no I/O. Files come in search order (folders as configured, then file names);
when two files define the same name, the first one keeps it and the later file gets
an error saying so.
"""
from __future__ import annotations

from typing import Any

FileCommands = tuple[str, list[dict[str, Any]]]


def merge(files: list[FileCommands], errors: dict[str, str]
          ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Commands by name, and the errors by file with duplicate names added."""
    commands: dict[str, dict[str, Any]] = {}
    errors = dict(errors)
    for path, descriptions in files:
        for description in descriptions:
            name = description["name"]
            if name in commands:
                problem = (f"duplicate command {name!r}: already defined in "
                           f"{commands[name]['module']}; this one is not used")
                errors[path] = f"{errors[path]}; {problem}" if path in errors else problem
            else:
                commands[name] = description
    return commands, errors
