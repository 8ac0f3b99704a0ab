"""Command arguments typed as text (``energy=25 detectors=main,monitor``), made into values.

A person at a shell or a display form types arguments as words; the command's
description (from ``P:COMMANDS``) says what type each parameter is, so
``energy=25`` becomes ``{"energy": 25.0}`` for a float parameter and ``name=25``
stays ``"25"`` for a text one. Words without ``=`` fill the parameters in order.
The server validates the result as it validates any job; this only types it.
"""
from __future__ import annotations

import json
import shlex
from typing import Any, Callable

from .errors import RequestRefused


def _boolean(text: str) -> bool:
    words = {"true": True, "yes": True, "on": True, "1": True,
             "false": False, "no": False, "off": False, "0": False}
    if text.lower() not in words:
        raise ValueError(f"{text!r} is not true or false")
    return words[text.lower()]


def _number(text: str) -> int | float:
    return int(text) if text.lstrip("+-").isdigit() else float(text)


# parameter type (as P:COMMANDS names it) -> how one typed word becomes a value
SCALARS: dict[str, Callable[[str], Any]] = {
    "int": int,
    "float": float,
    "bool": _boolean,
    "str": str,
    "Path": str,
}


def _choice(text: str, allowed: list[Any]) -> Any:
    """A word for a Literal/Enum parameter: the allowed value it spells."""
    for value in allowed:
        if str(value) == text:
            return value
    return text                      # the server refuses it with the allowed values


def convert(text: str, parameter: dict[str, Any]) -> Any:
    """One typed word -> the value for ``parameter`` (a P:COMMANDS parameter description)."""
    kind = str(parameter.get("type") or "")
    allowed = parameter.get("allowed")
    if kind.startswith("list"):
        inner = {**parameter, "type": kind[5:-1] if kind.endswith("]") else ""}
        return [convert(word, inner) for word in text.split(",") if word != ""]
    if allowed:
        return _choice(text, allowed)
    if kind in SCALARS:
        try:
            return SCALARS[kind](text)
        except ValueError:
            raise RequestRefused(f"{parameter['name']} must be {kind}, not {text!r}") from None
    try:
        return json.loads(text)      # a type this does not know: JSON if it is JSON
    except ValueError:
        return text


def parse(words: list[str], command: dict[str, Any]) -> dict[str, Any]:
    """``["25", "detectors=main,monitor"]`` -> arguments of ``command`` (its description)."""
    parameters = {p["name"]: p for p in command.get("parameters", [])}
    order = list(parameters)
    args: dict[str, Any] = {}
    for position, word in enumerate(words):
        name, sep, text = word.partition("=")
        if not sep:
            if position >= len(order):
                raise RequestRefused(f"{command['name']} takes {len(order)} argument(s): "
                                     f"{', '.join(order) or 'none'}; {word!r} is one too many")
            name, text = order[position], word
        if name not in parameters:
            raise RequestRefused(f"{command['name']} has no parameter {name!r}; its "
                                 f"parameters: {', '.join(order) or 'none'}")
        if name in args:
            raise RequestRefused(f"{name} is given twice")
        args[name] = convert(text, parameters[name])
    return args


def parse_text(text: str, command: dict[str, Any]) -> dict[str, Any]:
    """The same from one line, split as a shell would (quotes keep spaces)."""
    try:
        return parse(shlex.split(text), command)
    except ValueError as err:
        raise RequestRefused(f"cannot read the arguments: {err}") from None


def signature(command: dict[str, Any]) -> str:
    """``set_ei energy=<float meV>``: what to type, for help texts."""
    parts = []
    for p in command.get("parameters", []):
        what = "|".join(map(str, p["allowed"])) if p.get("allowed") else p.get("type") or "value"
        if p.get("units"):
            what += f" {p['units']}"
        part = f"{p['name']}=<{what}>"
        parts.append(part if p.get("required") else f"[{part}]")
    return " ".join([command["name"], *parts])
