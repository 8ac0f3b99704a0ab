"""Reviewing a job before it is queued, edited, run or validated: one path for all four.

``review`` gathers every static problem of a job (see ``checks``) and the details the
job carries (is it pausable, does it support a dry run). Refusing on the first problem
is the caller's choice: queueing refuses with all of them listed, VALIDATE reports them
one by one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.spec import JobSpec
from scriptserver.jobs.tags import has_pause_points, rewrite
from scriptserver.jobs.calls import calls_any

from .checks import (Problem, ScriptCheck, check_script, command_problems, definition_calls,
                     refusal)
from .library import CommandLibrary
from .scripts import ScriptFolders

DRY_RUN_FLAG = ("is_dry_run",)


@dataclass
class Review:
    name: str                                     # "the script", "align.py", "set_ei"
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)   # pausable, simulated
    # (line, command, args) whose IBEX parameters_valid must be asked in a subprocess
    definition_calls: list[tuple[int | None, str, dict[str, Any]]] = field(default_factory=list)

    def refusal(self) -> str:
        """The problems as one message a user can act on."""
        if self.details.get("kind") == "command":
            return "; ".join(p.text for p in self.problems)
        return refusal(self.name, self.problems)


def review(spec: JobSpec, commands: CommandLibrary, scripts: ScriptFolders) -> Review:
    """Every static problem of a job; RequestRefused only for a script file not found."""
    body = spec.body
    if spec.kind == "command":
        return _review_command(body["command"], body.get("args", {}), commands)
    if spec.kind == "script_file":
        source = scripts.resolve(body["script_file"]).read_text(errors="replace")
        name = body["script_file"]
    else:
        source, name = body["script"], "the script"
    known = {c["name"]: c for c in commands.describe()}
    found: ScriptCheck = check_script(rewrite(source), known, body.get("params", {}))
    simulated = found.tree is not None and calls_any(found.tree, DRY_RUN_FLAG)
    # calling a command that has pause points gives the script those pause points too
    pausing = [n for n, c in known.items() if c.get("pausable") and n not in found.own]
    pausable = has_pause_points(source) or (found.tree is not None and
                                            calls_any(found.tree, pausing))
    return Review(name, found.problems, found.warnings,
                  {"kind": spec.kind, "pausable": pausable, "simulated": simulated},
                  list(definition_calls(found.tree, known)))


def _review_command(name: str, args: Any, commands: CommandLibrary) -> Review:
    try:
        description = commands.get(name)
    except RequestRefused as refused:
        return Review(name, [Problem(str(refused))], details={"kind": "command"})
    details = {"kind": "command", "pausable": bool(description.get("pausable")),
               "simulated": bool(description.get("simulated"))}
    problems = command_problems(description, args)
    calls = [(None, name, args)] if not problems and \
        description.get("kind") == "script_definition" else []
    return Review(name, problems, details=details, definition_calls=calls)
