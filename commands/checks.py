"""Static checks of a job: everything that can be found wrong without running it.

One path for every moment a job is checked — queueing, editing, just before it runs,
and VALIDATE — returning *every* problem found, with line numbers for scripts:

- a command job: the command exists and the arguments fit its signature;
- a script: it compiles; pyflakes finds no undefined names (or other errors pyflakes
  is sure of); every call of a command with literal arguments fits the command's
  signature; a misspelt command name gets "did you mean";
- a script with ``def main(...)``: its ``params`` fit main's signature.

Nothing here runs instrument code: an IBEX script definition's ``parameters_valid``
runs in a subprocess (``CommandLibrary.parameters_valid``); this module only lists the
calls it must be asked about (``definition_calls``).
"""
from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass, field
from typing import Any, Mapping

from pyflakes import checker, messages

from scriptserver.jobs.errors import RequestRefused

from . import script_main, validate

# pyflakes findings that make a script fail when run; the rest are shown as warnings
ERRORS = (messages.UndefinedName, messages.UndefinedLocal, messages.UndefinedExport,
          messages.DuplicateArgument, messages.ReturnOutsideFunction,
          messages.YieldOutsideFunction, messages.ContinueOutsideLoop,
          messages.BreakOutsideLoop, messages.DefaultExceptNotLast,
          messages.TwoStarredExpressions, messages.TooManyExpressionsInStarredAssignment,
          messages.ImportStarNotPermitted, messages.FutureFeatureNotDefined,
          messages.LateFutureImport)
SCRIPT_GLOBALS = {"params", "__file__"}       # names the server gives every script


@dataclass(frozen=True)
class Problem:
    text: str
    line: int | None = None

    def __str__(self) -> str:
        return f"line {self.line}: {self.text}" if self.line else self.text

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "text": self.text}


@dataclass
class ScriptCheck:
    """What checking a script found."""
    problems: list[Problem]
    warnings: list[Problem]
    tree: ast.Module | None = None
    own: set[str] = field(default_factory=set)     # names the script binds itself


def refusal(name: str, problems: list[Problem]) -> str:
    """A script's problems as one message: "the script: line 2: ...; line 5: ..."."""
    if len(problems) == 1 and problems[0].text.startswith("syntax error: "):
        return f"{name} has a syntax error at line {problems[0].line}: " \
               f"{problems[0].text.removeprefix('syntax error: ')}"
    return f"{name}: " + "; ".join(map(str, problems))


def command_problems(description: dict[str, Any], args: Any) -> list[Problem]:
    try:
        validate.check_call(description, args)
    except RequestRefused as refused:
        return [Problem(str(refused))]
    return []


def check_script(source: str, commands: Mapping[str, dict[str, Any]],
                 params: dict[str, Any] | None = None) -> ScriptCheck:
    """Every problem of a script (already rewritten from its comment tags)."""
    try:
        tree = ast.parse(source)
        compile(tree, "<script>", "exec")
    except SyntaxError as err:
        return ScriptCheck([Problem(f"syntax error: {err.msg}", err.lineno)], [])
    except ValueError as err:
        return ScriptCheck([Problem(f"cannot be compiled: {err}")], [])
    own = _defined_at_top(tree)
    found = ScriptCheck([], [], tree, own)
    known = {name: c for name, c in commands.items() if name not in own}
    called = {_name_of(node) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    flakes = checker.Checker(tree, filename="<script>", builtins=SCRIPT_GLOBALS | set(known))
    for message in sorted(flakes.messages, key=lambda m: m.lineno):
        text = message.message % message.message_args
        if isinstance(message, messages.UndefinedName):
            text = _undefined(message.message_args[0], called, list(known)) or text
        (found.problems if isinstance(message, ERRORS) else found.warnings).append(
            Problem(text, message.lineno))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name_of(node) in known:
            found.problems += _call_problems(node, known[_name_of(node)])
    found.problems += main_problems(tree, params or {})
    found.problems.sort(key=lambda p: p.line or 0)
    return found


def main_problems(tree: ast.Module, params: dict[str, Any]) -> list[Problem]:
    """Whether ``params`` fit the script's ``main(...)``, if it declares one."""
    try:
        description = script_main.main_description(tree)
    except script_main.MainSignatureError as err:
        return [Problem(str(err), err.line)]
    if description is None:
        return []
    line = script_main.main_function(tree).lineno  # type: ignore[union-attr]
    return [Problem(p.text, line) for p in command_problems(description, params)]


def definition_calls(tree: ast.Module | None, commands: Mapping[str, dict[str, Any]]
                     ) -> list[tuple[int, str, dict[str, Any]]]:
    """(line, command, literal arguments) of each call in a script of an IBEX script
    definition whose arguments are all literals: their ``parameters_valid`` is asked."""
    if tree is None:
        return []
    own = _defined_at_top(tree)
    found = []
    for node in ast.walk(tree):
        name = _name_of(node) if isinstance(node, ast.Call) else None
        description = commands.get(name or "")
        if name in own or description is None or description.get("kind") != "script_definition":
            continue
        literal, unknown = _arguments(node, description)
        if literal is not None and not unknown:
            found.append((node.lineno, name, literal))
    return found


# --- inside ------------------------------------------------------------------------------


def _name_of(call: ast.Call) -> str | None:
    return call.func.id if isinstance(call.func, ast.Name) else None


def _defined_at_top(tree: ast.Module) -> set[str]:
    """Names the script binds itself: its own ``move`` is not the command ``move``."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _undefined(name: str, called: set[str | None], commands: list[str]) -> str | None:
    if name in called and difflib.get_close_matches(name, commands, n=1):
        return validate.unknown_command_message(name, commands)
    return None


def _arguments(call: ast.Call, description: dict[str, Any]
               ) -> tuple[dict[str, Any] | None, set[str]]:
    """(the arguments written as literals by name, the names given as expressions);
    None when the call cannot be read (``*args``, ``**kwargs``, too many positionals)."""
    order = [p["name"] for p in description["parameters"]]
    if any(isinstance(a, ast.Starred) for a in call.args) or \
            any(k.arg is None for k in call.keywords) or len(call.args) > len(order):
        return None, set()
    given = list(zip(order, call.args)) + [(k.arg, k.value) for k in call.keywords]
    literal, unknown = {}, set()
    for name, node in given:
        try:
            literal[name] = ast.literal_eval(node)
        except ValueError:
            unknown.add(name)
    return literal, unknown


def _call_problems(call: ast.Call, description: dict[str, Any]) -> list[Problem]:
    order = [p["name"] for p in description["parameters"]]
    if len(call.args) > len(order) and not any(isinstance(a, ast.Starred) for a in call.args):
        return [Problem(f"{description['name']}: takes at most {len(order)} argument(s), "
                        f"{len(call.args)} given", call.lineno)]
    literal, unknown = _arguments(call, description)
    if literal is None:
        return []
    # arguments given as expressions are there, with values known only when it runs
    seen = dict(description, parameters=[p for p in description["parameters"]
                                         if p["name"] not in unknown])
    return [Problem(p.text, call.lineno) for p in command_problems(seen, literal)]
