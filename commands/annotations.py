"""What a parameter's type hint says: its type name, units, limits and allowed values.

The one convention for metadata (see docs/commands.md)::

    energy: Annotated[float, "meV", (0, 800)]

Inside ``Annotated``, a plain string is the units and a 2-tuple ``(low, high)`` is the
inclusive limits (``None`` leaves that end open). ``Literal[...]`` and ``Enum`` types
give the allowed values. Anything else inside ``Annotated`` is left for other tools.

Pure: no I/O. Used where command files are imported (the describe and job subprocesses).
"""
from __future__ import annotations

import collections.abc
import enum
import inspect
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable

SCALARS: dict[Any, str] = {bool: "bool", int: "int", float: "float", str: "str"}
SEQUENCES = {list, tuple, set, frozenset, collections.abc.Sequence,
             collections.abc.MutableSequence, collections.abc.Collection,
             collections.abc.Iterable, collections.abc.Set}
MAPPINGS = {dict, collections.abc.Mapping, collections.abc.MutableMapping}
UNIONS = {typing.Union, types.UnionType}
NUMBER_NAMES = {"float", "int"}


class CommandDefinitionError(Exception):
    """A command file imports, but a command in it cannot be offered as written.

    The message names the command and parameter and says how to fix it; it is shown
    as that file's error.
    """


@dataclass(frozen=True)
class ParameterType:
    """What the description says about one parameter's type."""

    type: str
    units: str | None = None
    limits: list[float | None] | None = None
    allowed: list[Any] | None = None


def is_enum(annotation: Any) -> bool:
    return inspect.isclass(annotation) and issubclass(annotation, enum.Enum)


def type_name(annotation: Any) -> str:
    """The short type name shown to users: "float", "list[str]", "Literal", "float | None"."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if annotation is inspect.Parameter.empty or annotation is Any:
        return "Any"
    if annotation is None or annotation is type(None):
        return "None"
    if annotation in SCALARS:
        return SCALARS[annotation]
    if origin is typing.Literal or is_enum(annotation):
        return "Literal"
    if origin in UNIONS:
        return " | ".join(dict.fromkeys(type_name(a) for a in args))
    if annotation in SEQUENCES or origin in SEQUENCES:
        if origin is tuple and args and args[-1] is not Ellipsis:
            return "tuple[" + ", ".join(type_name(a) for a in args) + "]"
        return f"list[{type_name(args[0])}]" if args else "list"
    if annotation in MAPPINGS or origin in MAPPINGS:
        return f"dict[{type_name(args[0])}, {type_name(args[1])}]" if len(args) == 2 else "dict"
    return getattr(annotation, "__name__", None) or str(annotation)


def read_parameter_type(annotation: Any, where: str) -> ParameterType:
    """Type name, units, limits and allowed values of one parameter's type hint.

    ``where`` names the parameter in error messages, e.g. "set_ei: energy".
    """
    name = type_name(annotation)
    units, limits = _units_and_limits(annotation, where)
    if limits is not None and not NUMBER_NAMES & set(_words(name)):
        raise CommandDefinitionError(f"{where}: limits {tuple(limits)} only apply to numbers, "
                                     f"but the type is {name}")
    allowed = _allowed_values(annotation)
    return ParameterType(name, units, limits, allowed or None)


def type_from_default(default: Any) -> Any:
    """The type a parameter without a type hint is taken to have: that of its default."""
    if default is inspect.Parameter.empty or default is None:
        return inspect.Parameter.empty
    for kind in (bool, int, float, str):
        if type(default) is kind:
            return kind
    if isinstance(default, (list, tuple)):
        return list
    return inspect.Parameter.empty


def json_value(value: Any) -> Any:
    """A default or allowed value as JSON shows it (Enum members by value, tuples as lists)."""
    if isinstance(value, enum.Enum):
        return json_value(value.value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: json_value(v) for k, v in value.items()}
    return repr(value)


def enum_converter(annotation: Any) -> Callable[[Any], Any] | None:
    """A function turning a validated JSON value into the Enum member(s) the hint asks for.

    Handles ``MyEnum``, ``MyEnum | None`` and ``list[MyEnum]``; None when no Enum is involved.
    """
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return enum_converter(args[0])
    if is_enum(annotation):
        return annotation
    if origin in UNIONS:
        inner = [enum_converter(a) for a in args if a is not type(None)]
        if len(inner) == 1 and inner[0] is not None:
            return lambda v, convert=inner[0]: None if v is None else convert(v)
    if origin in (list, collections.abc.Sequence) and args:
        item = enum_converter(args[0])
        if item is not None:
            return lambda values, convert=item: [convert(v) for v in values]
    return None


def _words(name: str) -> list[str]:
    for sep in "[],|":
        name = name.replace(sep, " ")
    return name.split()


def _walk(annotation: Any) -> collections.abc.Iterator[Any]:
    yield annotation
    for arg in typing.get_args(annotation):
        if typing.get_origin(annotation) is not typing.Literal:
            yield from _walk(arg)


def _units_and_limits(annotation: Any, where: str) -> tuple[str | None, list | None]:
    units: str | None = None
    limits: list | None = None
    for part in _walk(annotation):
        if typing.get_origin(part) is not typing.Annotated:
            continue
        for item in part.__metadata__:
            if isinstance(item, str):
                if units is not None and item != units:
                    raise CommandDefinitionError(f"{where}: two units given ({units!r} and "
                                                 f"{item!r}); keep one")
                units = item
            elif isinstance(item, (tuple, list)):
                limits = _limits(item, where)
    return units, limits


def _limits(item: tuple | list, where: str) -> list:
    def is_number(x: Any) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

    if len(item) != 2 or not all(x is None or is_number(x) for x in item):
        raise CommandDefinitionError(
            f"{where}: limits must be two numbers (low, high), e.g. (0, 800), "
            f"or None for an open end; got {tuple(item)!r}")
    low, high = item
    if low is not None and high is not None and low > high:
        raise CommandDefinitionError(f"{where}: limits ({low}, {high}) have low above high")
    return [low, high]


def _allowed_values(annotation: Any) -> list[Any]:
    allowed: list[Any] = []
    for part in _walk(annotation):
        if typing.get_origin(part) is typing.Literal:
            values = typing.get_args(part)
        elif is_enum(part):
            values = tuple(member.value for member in part)
        else:
            continue
        for value in map(json_value, values):
            if value not in allowed:
                allowed.append(value)
    return allowed
