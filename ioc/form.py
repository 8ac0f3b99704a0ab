"""A command form served as PVs, so a display can queue a command job without JSON.

A display binds a combo box to ``FORM:COMMAND`` (an enum of the command names),
a text entry to ``FORM:ARGS`` (``energy=25``, typed as the command-line client
types them) and a button to ``FORM:ADD``, which queues the call exactly as
``QUEUE:ADD`` would (refusals fail the put and show in ``ERROR``).
``FORM:HELP`` says what the chosen command takes.

The form is one per server, shared by every client (as a record's fields are).
A Channel Access enum holds at most 16 choices of 25 characters: with more
commands, the first 16 such names are offered here; the others are queued with ``QUEUE:ADD`` or the
command-line client.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scriptserver.jobs import arguments
from scriptserver.jobs.errors import RequestRefused

MAX_CHOICES = 16          # Channel Access enums: 16 strings ...
MAX_NAME = 25             # ... of at most 25 characters
NO_COMMAND = "(none)"     # shown until commands are loaded


@dataclass
class CommandForm:
    command: str = ""
    args: str = ""

    def choices(self, names: list[str]) -> tuple[str, ...]:
        return tuple([n for n in names if len(n) <= MAX_NAME][:MAX_CHOICES]) or (NO_COMMAND,)

    def chosen(self, names: list[str]) -> str:
        """The command the form shows: the one chosen, else the first one."""
        offered = self.choices(names)
        return self.command if self.command in offered else offered[0]

    def job(self, described: list[dict[str, Any]]) -> dict[str, Any]:
        """The command job the form describes now, its arguments typed."""
        name = self.chosen([c["name"] for c in described])
        command = next((c for c in described if c["name"] == name), None)
        if command is None:
            raise RequestRefused("no command is chosen: the command library is empty")
        return {"command": name, "args": arguments.parse_text(self.args, command)}

    def help(self, described: list[dict[str, Any]]) -> str:
        name = self.chosen([c["name"] for c in described])
        command = next((c for c in described if c["name"] == name), None)
        if command is None:
            return ""
        return f"{arguments.signature(command)}: {command.get('summary', '')}"


def form_pvs() -> list:
    """The form's PVs, as PV table entries."""
    from .pvs import PV, Topic           # here, not at the top: pvs.py imports this module

    return [
        PV("FORM:COMMAND", "enum", "the command the form queues (writable; the first "
           f"{MAX_CHOICES} command names)", (Topic.COMMANDS, Topic.FORM), "form_command",
           action="set_form_command", writable=True, enum=(NO_COMMAND,),
           choices="form_choices"),
        PV("FORM:ARGS", "text", "its arguments as typed, e.g. energy=25 (writable)", Topic.FORM,
           "form_args", action="set_form_args", writable=True),
        PV("FORM:HELP", "text", "what the chosen command takes and does",
           (Topic.COMMANDS, Topic.FORM), "form_help"),
        PV("FORM:ADD", "long", "queue the form's command with its arguments, as QUEUE:ADD "
           "would", action="add_from_form"),
    ]
