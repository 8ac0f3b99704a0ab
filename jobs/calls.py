"""What a piece of Python source calls, read with ``ast`` (never by searching the text).

A comment or a string that merely mentions ``pause_point`` is not a call; a real call,
``pause_point()`` or ``api.pause_point()``, is. Following calls into other functions of
the same source lets a command's pause points live in a helper it calls.
"""
from __future__ import annotations

import ast
from typing import Iterable

Function = ast.FunctionDef | ast.AsyncFunctionDef


def called_name(call: ast.Call) -> str | None:
    """``f`` for ``f(...)`` and ``x.f(...)``; None for anything else (``g()()``, ...)."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def calls_any(tree: ast.AST, names: Iterable[str]) -> bool:
    """Whether ``tree`` calls any of ``names`` anywhere in it."""
    wanted = set(names)
    return any(isinstance(node, ast.Call) and called_name(node) in wanted
               for node in ast.walk(tree))


def functions_by_name(tree: ast.AST) -> dict[str, list[Function]]:
    """Every function and method defined in ``tree``, by its name."""
    found: dict[str, list[Function]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.setdefault(node.name, []).append(node)
    return found


def reaches(start: Function, names: Iterable[str], defined: dict[str, list[Function]]) -> bool:
    """Whether ``start``, or a function of the same source it calls (by name, at any
    depth, ``self.helper()`` included), calls any of ``names``."""
    wanted = set(names)
    seen: set[int] = set()
    todo = [start]
    while todo:
        function = todo.pop()
        if id(function) in seen:
            continue
        seen.add(id(function))
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            name = called_name(node)
            if name in wanted:
                return True
            todo.extend(defined.get(name or "", []))
    return False


def parse_or_none(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None
