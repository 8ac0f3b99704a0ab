"""Command files: which files in the command folders hold commands, and importing one.

A command folder holds ``*.py`` files. Files whose names start with ``_`` are helpers
(importable from the command files, e.g. ``import _motors``) and hold no commands.
Every command file is imported on its own, fresh, under a unique module name, from its
source (never a stale ``.pyc``), so that two files may share a name in different folders
and an edit is always seen. Importing runs instrument code: it is done only in
subprocesses (describe, estimate, job), never in the IOC.
"""
from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import itertools
import re
import sys
import traceback
from pathlib import Path
from types import ModuleType

from . import ibex

_import_count = itertools.count(1)


def command_files(folders: list[Path]) -> list[Path]:
    """Command files in search order: folders as given, files by name within a folder."""
    found = []
    for folder in folders:
        if folder.is_dir():
            found.extend(sorted(p for p in folder.glob("*.py")
                                if p.is_file() and not p.name.startswith("_")))
    return found


class _SourceLoader(importlib.machinery.SourceFileLoader):
    """Compiles the file's current source every time; bytecode caches are not used.

    A ``.pyc`` is trusted by mtime (whole seconds) and size: an edit saved within the
    same second with the same size would otherwise run the old code.
    """

    def get_code(self, fullname: str):  # type: ignore[override]
        return compile(self.get_data(self.path), self.path, "exec", dont_inherit=True)


def import_file(path: Path) -> ModuleType:
    """Import one command file in isolation and return it as a module.

    Its folder is put on ``sys.path`` so it can import helper modules next to it.
    Errors raised by the file (``SyntaxError``, ``ImportError``, anything) propagate;
    ``error_text`` turns them into a one-line message.
    """
    path = Path(path).resolve()  # tracebacks and line sampling name the real file
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.append(folder)  # last: a file named like a standard module must not shadow it
    source = path.read_text(encoding="utf-8", errors="replace")
    if ibex.GENIE_MODULE in source:
        ibex.install_genie_stand_in()
    name = f"{_module_stem(path)}__command_file_{next(_import_count)}"
    loader = _SourceLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look modules up by name
    try:
        loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def error_text(error: BaseException, path: Path) -> str:
    """One line saying what went wrong importing a file, and where.

    e.g. "SyntaxError: invalid syntax (line 3)", "NameError: name 'x' is not defined (line 7)".
    """
    path = Path(path).resolve()
    kind = type(error).__name__
    if isinstance(error, SyntaxError):
        where = f"line {error.lineno}"
        if error.filename and Path(error.filename).resolve() != path:
            where = f"{Path(error.filename).name}, {where}"
        return f"{kind}: {error.msg} ({where})"
    text = f"{kind}: {error}" if str(error) else kind
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__)
             if Path(frame.filename).resolve() == path]
    return f"{text} (line {lines[-1]})" if lines else text


def may_define(path: Path, name: str) -> bool:
    """Whether the file looks (by its syntax tree, without running it) like it defines ``name``.

    True for a top-level ``def name`` or, for a script definition, when the file is
    named ``name.py`` and has a class. A file that does not parse is False.
    """
    tree = _parse(path)
    if tree is None:
        return False
    functions, has_class = _top_level(tree.body)
    return name in functions or (path.stem == name and has_class)


def defined_names(path: Path) -> set[str]:
    """Names of the public top-level functions a file defines (syntax tree only)."""
    tree = _parse(path)
    if tree is None:
        return set()
    functions, has_class = _top_level(tree.body)
    names = {n for n in functions if not n.startswith("_")}
    return names | {path.stem} if has_class else names


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_bytes(), str(path))
    except (SyntaxError, ValueError, OSError):
        return None


def _top_level(body: list[ast.stmt]) -> tuple[set[str], bool]:
    functions: set[str] = set()
    has_class = False
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.add(node.name)
        elif isinstance(node, ast.ClassDef):
            has_class = True
        else:  # definitions inside top-level if/try/with blocks count too
            for block in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, block, None)
                if isinstance(inner, list) and inner and isinstance(node, (ast.If, ast.Try,
                                                                           ast.With,
                                                                           ast.ExceptHandler)):
                    more, cls = _top_level(inner)
                    functions |= more
                    has_class = has_class or cls
    return functions, has_class


def _module_stem(path: Path) -> str:
    return re.sub(r"\W", "_", path.stem)
