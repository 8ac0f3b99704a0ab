"""Checking a command call against the command's description, before it is queued or run.

Pure: no I/O. The description (as published in COMMANDS) is the whole truth: its type
names, limits and allowed values are turned into a pydantic type, so a call is checked
against exactly what users can read.

Rules for plain functions: a string is not a number, bool is not a number, an int is
fine for a float, a whole float (2.0) is fine for an int but 2.5 is not, NaN and
infinities are refused. IBEX script definitions keep IBEX's rule that values may also be
typed as text ("1.5" for a float, 3 for a str).
"""
from __future__ import annotations

import difflib
import functools
import json
import math
import typing
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, Strict, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError
from typing_extensions import NotRequired, TypedDict

from scriptserver.jobs.errors import RequestRefused

MAX_SHOWN = 60
MAX_NAMES_LISTED = 12


def check_call(description: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments converted to their declared types, or RequestRefused saying why.

    Only the arguments given are returned; the command's own defaults fill in the rest.
    """
    name = description["name"]
    if not isinstance(args, dict):
        raise RequestRefused(f"{name}: arguments must be a JSON object of name: value, "
                             f"not {_show(args)}")
    lenient = description.get("kind") == "script_definition"
    adapter = _adapter(json.dumps(description["parameters"], sort_keys=True), lenient)
    try:
        return adapter.validate_python(args)
    except ValidationError as error:
        raise RequestRefused(_refusal(description, args, error)) from None


def unknown_command_message(name: str, known_names: list[str]) -> str:
    """e.g. "unknown command 'set_e'; did you mean 'set_ei'?"."""
    if guess := _did_you_mean(name, known_names):
        return f"unknown command {name!r}{guess}"
    if not known_names:
        return f"unknown command {name!r}; no commands are loaded"
    return f"unknown command {name!r}; the commands are {_list_names(sorted(known_names))}"


# --- from description to a pydantic type ----------------------------------------------


@functools.lru_cache(maxsize=512)
def _adapter(parameters_json: str, lenient: bool) -> TypeAdapter:
    fields: dict[str, Any] = {}
    for parameter in json.loads(parameters_json):
        annotation = _annotation(parse_type(parameter["type"]), parameter, lenient)
        fields[parameter["name"]] = annotation if parameter["required"] else NotRequired[annotation]
    arguments = TypedDict("Arguments", fields)  # type: ignore[misc]
    arguments.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return TypeAdapter(arguments)


TypeTree = tuple[str, tuple["TypeTree", ...]]


def parse_type(text: str) -> TypeTree:
    """Parse a type name such as "list[float] | None" into (head, arguments) trees.

    A union is ("|", members). Unknown names are kept; they are not checked.
    """
    tokens = [t for t in _tokens(text) if t.strip()]
    tree, rest = _parse_union(tokens)
    return tree if not rest else ("Any", ())


def _tokens(text: str) -> list[str]:
    out, word = [], ""
    for char in text:
        if char in "[],|":
            out += [word.strip(), char]
            word = ""
        else:
            word += char
    return out + [word.strip()]


def _parse_union(tokens: list[str]) -> tuple[TypeTree, list[str]]:
    members = []
    while True:
        member, tokens = _parse_term(tokens)
        members.append(member)
        if not tokens or tokens[0] != "|":
            break
        tokens = tokens[1:]
    return (members[0] if len(members) == 1 else ("|", tuple(members))), tokens


def _parse_term(tokens: list[str]) -> tuple[TypeTree, list[str]]:
    if not tokens:
        return ("Any", ()), []
    head, tokens = tokens[0], tokens[1:]
    args = []
    if tokens and tokens[0] == "[":
        tokens = tokens[1:]
        while tokens and tokens[0] != "]":
            arg, tokens = _parse_union(tokens)
            args.append(arg)
            if tokens and tokens[0] == ",":
                tokens = tokens[1:]
        tokens = tokens[1:]
    return (head, tuple(args)), tokens


def _annotation(tree: TypeTree, parameter: dict[str, Any], lenient: bool) -> Any:
    head, args = tree
    inner = [_annotation(arg, parameter, lenient) for arg in args]
    if head == "|":
        return typing.Union[tuple(inner)]
    if head in ("float", "int"):
        low, high = parameter.get("limits") or (None, None)
        number = float if head == "float" else int
        return Annotated[number, BeforeValidator(functools.partial(_a_number, lenient)),
                         Field(ge=low, le=high, allow_inf_nan=False)]
    if head == "bool":
        return bool if lenient else Annotated[bool, Strict()]
    if head == "str":
        return Annotated[str, BeforeValidator(_number_as_text), Strict()] if lenient \
            else Annotated[str, Strict()]
    if head == "None":
        return type(None)
    if head == "Literal" and parameter.get("allowed"):
        allowed = tuple(parameter["allowed"])
        return Annotated[Literal[allowed], BeforeValidator(functools.partial(_no_bool, allowed))]
    if head == "list":
        return list[inner[0] if inner else Any]
    if head == "tuple":
        return tuple[tuple(inner)] if inner else tuple[Any, ...]
    if head == "dict":
        return dict[str, inner[1] if len(inner) == 2 else Any]
    return Any


def _a_number(lenient: bool, value: Any) -> Any:
    if isinstance(value, bool) or (isinstance(value, (str, bytes)) and not lenient):
        raise PydanticCustomError("not_a_number", "not a number")
    return value


def _number_as_text(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _no_bool(allowed: tuple, value: Any) -> Any:
    if isinstance(value, bool) and not any(isinstance(a, bool) for a in allowed):
        raise PydanticCustomError("literal_error", "not one of the allowed values")
    return value


# --- from pydantic's errors to words a beamline user can act on -----------------------


def _refusal(description: dict[str, Any], args: dict[str, Any], error: ValidationError) -> str:
    parameters = {p["name"]: p for p in description["parameters"]}
    problems: list[str] = []
    reported: set[str] = set()
    misspelt = {close for extra in args if extra not in parameters
                for close in difflib.get_close_matches(str(extra), list(parameters), n=1)}
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        if item["type"] == "missing" and name in misspelt:
            continue  # "did you mean" for the misspelt argument says it all
        if item["type"] == "missing":
            problems.append(f"missing argument {name} ({_expected(parameters[name])})")
        elif item["type"] == "extra_forbidden":
            problems.append(_unexpected(description["name"], name, list(parameters)))
        elif name not in reported:
            reported.add(name)
            problems.append(_wrong_value(parameters[name], args.get(name), item))
    return f"{description['name']}: " + "; ".join(problems)


def _unexpected(command: str, name: str, known: list[str]) -> str:
    if guess := _did_you_mean(name, known):
        return f"unexpected argument {name!r}{guess}"
    if not known:
        return f"unexpected argument {name!r} ({command} takes no arguments)"
    return f"unexpected argument {name!r} ({command} takes {_list_names(known, quote=False)})"


def _wrong_value(parameter: dict[str, Any], given: Any, item: dict[str, Any]) -> str:
    name = parameter["name"]
    if " | " in parameter["type"] and not _is_optional(parameter["type"]):
        return f"{name} must be {parameter['type']}, not {_show(given)}"
    where = name + "".join(f"[{p}]" if isinstance(p, int) else f"[{p!r}]"
                           for p in item["loc"][1:])
    value, kind = item.get("input"), item["type"]
    if kind == "not_a_number" or kind.startswith(("float_", "int_")) and kind != "int_from_float":
        whole = parameter["type"].replace(" | None", "").endswith("int")
        return f"{where} must be a {'whole ' if whole else ''}number, not {_show(value)}"
    if kind == "int_from_float":
        return f"{where} must be a whole number, not {_show(value)}"
    if kind == "finite_number":
        return f"{where} must be a finite number, not {_show(value)}"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"{where} must be {_range_text(parameter)}, not {_show(value)}"
    if kind == "literal_error":
        return f"{where} must be one of {_list_values(parameter['allowed'])}, not " \
               f"{_show(value)}{_did_you_mean(value, parameter['allowed'])}"
    if kind.startswith("bool_"):
        return f"{where} must be true or false, not {_show(value)}"
    if kind.startswith("string_"):
        return f"{where} must be text, not {_show(value)}"
    if kind.startswith(("list_", "tuple_", "too_short", "too_long")):
        return f"{where} must be a list ({parameter['type']}), not {_show(value)}"
    if kind.startswith("dict_"):
        return f"{where} must be a JSON object ({parameter['type']}), not {_show(value)}"
    if kind == "none_required":
        return f"{where} must be null, not {_show(value)}"
    return f"{where} is not valid ({item['msg']}): {_show(value)}"


def _is_optional(type_name: str) -> bool:
    return type_name.endswith(" | None") and type_name.count(" | ") == 1


def _expected(parameter: dict[str, Any]) -> str:
    if parameter.get("allowed"):
        text = f"one of {_list_values(parameter['allowed'])}"
    else:
        text = parameter["type"]
    if parameter.get("units"):
        text += f" in {parameter['units']}"
    if parameter.get("limits"):
        text += f", {_range_text(parameter, with_units=False)}"
    return text


def _range_text(parameter: dict[str, Any], with_units: bool = True) -> str:
    low, high = parameter.get("limits") or (None, None)
    units = f" {parameter['units']}" if with_units and parameter.get("units") else ""
    if low is not None and high is not None:
        return f"between {_number(low)} and {_number(high)}{units}"
    if low is not None:
        return f"at least {_number(low)}{units}"
    return f"at most {_number(high)}{units}"


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _did_you_mean(value: Any, allowed: list[Any]) -> str:
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, [a for a in allowed if isinstance(a, str)], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, float) and not math.isfinite(value):
        text = str(value)
    else:
        try:
            text = json.dumps(value)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 3] + "..."


def _list_values(values: list[Any]) -> str:
    return ", ".join(_show(v) for v in values)


def _list_names(names: list[str], quote: bool = True) -> str:
    shown = [repr(n) if quote else n for n in names[:MAX_NAMES_LISTED]]
    more = len(names) - MAX_NAMES_LISTED
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
