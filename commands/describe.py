"""Describe the commands in command folders, as JSON on stdout. Run as a subprocess::

    python -m scriptserver.commands.describe FOLDER_OR_FILE...

prints ``{"commands": [...], "errors": {"path/to/file.py": "SyntaxError: ... (line 3)"}}``.
With ``--per-file`` it prints ``{"files": [{"path", "commands", "error"}, ...]}`` instead,
which is what the command library reads (it keeps each file's last good commands).

Each file is imported on its own: one that fails to import (or defines a command that
cannot be offered) gets an error, and the other files' commands are still described.
Whatever the files print while being imported goes to stderr, so stdout stays JSON.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Iterator, TextIO

from . import catalog, files
from .annotations import CommandDefinitionError
from .introspect import commands_in_module

logger = logging.getLogger(__name__)


def describe_file(path: Path) -> dict[str, Any]:
    """``{"path", "commands", "error"}`` for one command file (it is imported)."""
    try:
        module = files.import_file(path)
        commands = [c.description for c in commands_in_module(module, path)]
    except CommandDefinitionError as error:
        return {"path": str(path), "commands": [], "error": str(error)}
    except (Exception, SystemExit) as error:  # whatever the instrument code raises
        return {"path": str(path), "commands": [], "error": files.error_text(error, path)}
    return {"path": str(path), "commands": commands, "error": None}


def describe_paths(paths: list[Path]) -> list[dict[str, Any]]:
    """Per-file results for folders (all their command files) and single files, in order."""
    results = []
    for path in paths:
        if path.is_dir():
            results.extend(describe_file(p) for p in files.command_files([path]))
        elif path.is_file():
            results.append(describe_file(path))
        else:
            results.append({"path": str(path), "commands": [],
                            "error": "command folder not found"})
    return results


def merged(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The published shape: all commands sorted by name, and errors by file."""
    errors = {r["path"]: r["error"] for r in results if r["error"]}
    commands, errors = catalog.merge([(r["path"], r["commands"]) for r in results], errors)
    return {"commands": [commands[name] for name in sorted(commands)], "errors": errors}


@contextlib.contextmanager
def stdout_kept_for_json() -> Iterator[TextIO]:
    """Yield the real stdout; meanwhile anything else written to stdout goes to stderr."""
    sys.stdout.flush()
    real = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    saved, sys.stdout = sys.stdout, sys.stderr
    try:
        yield real
    finally:
        sys.stdout = saved
        real.flush()
        os.dup2(real.fileno(), saved.fileno())
        real.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scriptserver.commands.describe",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="command folders or files")
    parser.add_argument("--per-file", action="store_true",
                        help="one result per file, for the command library")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    with stdout_kept_for_json() as out:
        results = describe_paths(options.paths)
        report = {"files": results} if options.per_file else merged(results)
        json.dump(report, out, default=repr)
        out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
