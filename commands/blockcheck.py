"""Static check of a script's block names: ``cget``/``cset``/``waitfor`` of unknown blocks.

A script that asks for a block the current configuration does not have would fail
when it gets there, maybe hours into a run; this finds it when the job is submitted.
Only names written as string literals are checked (``cget("TEMP1")``,
``cset(TEMP1=5)``, ``g.waitfor("TEMP1", 5)``): a name computed at run time cannot be
known here. A command's arguments are block names only where the command says so,
with a parameter typed ``Block`` (``Block = NewType("Block", str)``, as
``scriptserver.blocks.Block``). ``job_block_problems`` returns every such problem of a
job, as ``Problem``s beside the other static checks of ``review``.
"""
from __future__ import annotations

import ast
import difflib
from typing import Any, Iterable

from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.spec import JobSpec

from .checks import Problem
from .library import CommandLibrary
from .scripts import ScriptFolders

BLOCK_TYPE = "Block"            # the type name of a command parameter that takes a block name
BLOCK_FUNCTIONS = {"cget", "cset", "waitfor", "waitfor_block", "cshow"}
# keyword arguments of those functions that are not block names (genie_python's)
NOT_BLOCKS = {"runcontrol", "lowlimit", "highlimit", "wait", "verbose", "maxwait", "wait_all",
              "seconds", "minutes", "hours", "time", "frames", "raw_frames", "uamps", "mevents",
              "early_exit", "quiet", "block", "value"}


def block_names_used(source: str) -> list[tuple[str, int]]:
    """(block name, line) for every literal block name the script passes to the block calls."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []                     # reported by the syntax check, not here
    used = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _called(node.func) not in BLOCK_FUNCTIONS:
            continue
        first = node.args[0] if node.args else next(
            (k.value for k in node.keywords if k.arg == "block"), None)
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            used.append((first.value, node.lineno))
        elif not node.args and _called(node.func) in ("cset", "waitfor"):
            used += [(k.arg, node.lineno) for k in node.keywords
                     if k.arg and k.arg not in NOT_BLOCKS]
    return used


def job_block_problems(spec: JobSpec, known: Iterable[str], commands: CommandLibrary,
                       scripts: ScriptFolders) -> list[Problem]:
    """The unknown block names of any job: a script's literals, a command's Block arguments."""
    body = spec.body
    if spec.kind == "command":
        try:
            parameters = commands.get(body["command"])["parameters"]
        except RequestRefused:
            return []                     # an unknown command: the command check says so
        return block_argument_problems(parameters, body.get("args", {}), known, body["command"])
    if spec.kind == "script_file":
        source = scripts.resolve(body["script_file"]).read_text(errors="replace")
    else:
        source = body["script"]
    return block_problems(source, known)


def block_problems(source: str, known: Iterable[str]) -> list[Problem]:
    """One problem per unknown block name, with a "did you mean" from ``known``."""
    known = list(known)
    return [Problem(_unknown(name, known), line)
            for name, line in block_names_used(source) if not _is_known(name, known)]


def block_argument_problems(parameters: list[dict[str, Any]], args: dict[str, Any],
                            known: Iterable[str], where: str) -> list[Problem]:
    """One problem per argument of a ``Block`` parameter that names no current block."""
    known = list(known)
    problems = []
    for parameter in parameters:
        name = parameter["name"]
        if parameter.get("type") != BLOCK_TYPE or name not in args:
            continue
        value = args[name]
        if not isinstance(value, str):
            problems.append(Problem(f"{where}: {name} must be a block name (text), not {value!r}"))
        elif not _is_known(value, known):
            problems.append(Problem(f"{where}: {name}: {_unknown(value, known)}"))
    return problems


def _is_known(name: str, known: list[str]) -> bool:
    return name.upper() in (k.upper() for k in known)


def _unknown(name: str, known: list[str]) -> str:
    upper = {k.upper(): k for k in known}
    close = difflib.get_close_matches(name.upper(), list(upper), n=1, cutoff=0.6)
    hint = (f"; did you mean {upper[close[0]]!r}?" if close else
            f"; the blocks are {', '.join(sorted(known))}" if known else
            "; the current configuration has no blocks")
    return f"no block named {name!r}{hint}"


def _called(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):          # g.cget(...), blocks.cset(...)
        return func.attr
    return ""
