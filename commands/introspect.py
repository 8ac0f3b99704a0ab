"""Turning an imported command file into commands: descriptions plus what to call.

What counts as a command (see docs/commands.md):

- every public top-level function defined in the file (not imported into it; a name
  starting with ``_`` is private);
- except ``estimate_<command>`` functions: they are that command's estimate
  (called with the same arguments, returning seconds);
- a file with an IBEX script definition class is one command named after the file,
  and its other functions are helpers.
"""
from __future__ import annotations

import asyncio
import functools
import inspect
import typing
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from scriptserver.jobs.errors import RequestRefused

from . import declared, docstrings, ibex
from .annotations import (CommandDefinitionError, enum_converter, json_value,
                          read_parameter_type, type_from_default)

ESTIMATE_PREFIX = "estimate_"


@dataclass(frozen=True)
class Command:
    """One command: its description (JSON-able), and callables taking its typed arguments."""

    description: dict[str, Any]
    call: Callable[..., Any]
    estimate: Callable[..., Any] | None = None
    # an IBEX script definition's parameters_valid: None, or what is wrong, in words
    parameters_problem: Callable[..., str | None] | None = None

    @property
    def name(self) -> str:
        return self.description["name"]


def commands_in_module(module: ModuleType, path: Path) -> list[Command]:
    """The commands an imported command file offers, in the order they are written.

    Raises CommandDefinitionError when a command cannot be offered as written.
    """
    own = {name: obj for name, obj in vars(module).items()
           if getattr(obj, "__module__", None) == module.__name__}
    definitions = [obj for obj in own.values()
                   if inspect.isclass(obj) and ibex.is_script_definition(obj)]
    if len(definitions) > 1:
        names = ", ".join(cls.__name__ for cls in definitions)
        raise CommandDefinitionError(f"{path.name}: more than one script definition class "
                                     f"({names}); keep one per file")
    if definitions:
        return [script_definition_command(definitions[0], path)]
    functions: dict[str, Callable] = {}
    for name, obj in own.items():  # an alias (`setei = set_ei`) is the same command
        if inspect.isfunction(obj) and not name.startswith("_") and obj not in functions.values():
            functions[obj.__name__] = obj
    estimates = {name[len(ESTIMATE_PREFIX):]: obj for name, obj in functions.items()
                 if name.startswith(ESTIMATE_PREFIX) and name[len(ESTIMATE_PREFIX):] in functions}
    estimate_names = {ESTIMATE_PREFIX + name for name in estimates}
    return [function_command(obj, path, estimates.get(name))
            for name, obj in functions.items() if name not in estimate_names]


def function_command(function: Callable, path: Path,
                     estimate: Callable | None = None) -> Command:
    """A plain function as a command."""
    name = function.__name__
    signature = inspect.signature(function)
    hints = _type_hints(function, name)
    doc = inspect.getdoc(function)
    parameters = [_describe_parameter(name, p, hints.get(p.name, p.annotation), doc)
                  for p in _named_parameters(name, signature)]
    description = _description(name, doc, parameters, path, estimate is not None, "function")
    description.update(declared.declarations(function, path))
    return Command(description, _with_enum_members(_awaited(function), hints),
                   _with_enum_members(_estimate_taking(estimate), hints) if estimate else None)


def script_definition_command(cls: type, path: Path) -> Command:
    """An IBEX script definition class as a command named after its file."""
    name = path.stem
    if not name.isidentifier():
        raise CommandDefinitionError(f"{path.name}: a script definition's command is named after "
                                     f"its file, and {name!r} is not a valid name; rename the "
                                     f"file, e.g. {_identifier(name)}.py")
    signature = inspect.signature(cls.run)
    parameters_seen = list(signature.parameters.values())[1:]  # without self
    signature = signature.replace(parameters=parameters_seen)
    hints = _type_hints(cls.run, name)
    casts = ibex.parameter_casts(cls.run)
    instance = ibex.make_instance(cls)
    help_text = instance.get_help() if callable(getattr(instance, "get_help", None)) else ""
    doc = help_text if isinstance(help_text, str) and help_text.strip() else inspect.getdoc(cls)
    param_doc = inspect.getdoc(cls.run) or doc
    parameters = []
    for parameter in _named_parameters(name, signature):
        annotation = hints.get(parameter.name, casts.get(parameter.name, parameter.annotation))
        default = ibex.default_value(parameter.default)
        parameters.append(_describe_parameter(name, parameter.replace(default=default),
                                              annotation, param_doc))
    description = _description(name, doc, parameters, path, ibex.has_own_estimate(cls),
                               "script_definition")
    description.update(declared.declarations(cls.run, path))

    def parameters_problem(**args: Any) -> str | None:
        problem = ibex.make_instance(cls).parameters_valid(**ibex.with_defaults(signature, args))
        return f"{name}: {str(problem).strip()}" if problem else None

    def call(**args: Any) -> Any:
        definition = ibex.make_instance(cls)
        full = ibex.with_defaults(signature, args)
        if problem := parameters_problem(**args):
            raise RequestRefused(problem)
        result = definition.run(**full)
        if isinstance(result, str) and result.strip():
            raise ibex.ScriptDefinitionError(f"{name}: {result.strip()}")
        return result

    def estimate(**args: Any) -> Any:
        definition = ibex.make_instance(cls)
        full = ibex.with_defaults(signature, args)
        if definition.parameters_valid(**full):
            return None  # IBEX estimates only valid rows
        return definition.estimate_time(**full)

    call.__name__ = estimate.__name__ = name
    return Command(description, call, estimate if description["has_estimate"] else None,
                   parameters_problem)


def _description(name: str, doc: str | None, parameters: list[dict], path: Path,
                 has_estimate: bool, kind: str) -> dict[str, Any]:
    return {
        "name": name,
        "summary": docstrings.summary(doc),
        "description": docstrings.clean(doc),
        "parameters": parameters,
        "module": str(path),
        "has_estimate": has_estimate,
        "kind": kind,
    }


def _named_parameters(name: str, signature: inspect.Signature) -> list[inspect.Parameter]:
    named = []
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise CommandDefinitionError(
                f"{name}: parameter {parameter.name} is positional-only (before '/'); commands "
                "are called with named arguments, so remove the '/'")
        if parameter.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                              inspect.Parameter.KEYWORD_ONLY):
            named.append(parameter)
    return named


def _describe_parameter(command: str, parameter: inspect.Parameter, annotation: Any,
                        doc: str | None) -> dict[str, Any]:
    if annotation is inspect.Parameter.empty:
        annotation = type_from_default(parameter.default)
    where = f"{command}: {parameter.name}"
    described = read_parameter_type(annotation, where)
    required = parameter.default is inspect.Parameter.empty
    return {
        "name": parameter.name,
        "type": described.type,
        "default": None if required else json_value(parameter.default),
        "required": required,
        "units": described.units,
        "limits": described.limits,
        "allowed": described.allowed,
        "description": docstrings.parameter_descriptions(doc).get(parameter.name, ""),
    }


def _type_hints(function: Callable, name: str) -> dict[str, Any]:
    try:
        return typing.get_type_hints(inspect.unwrap(function), include_extras=True)
    except Exception as error:  # a hint naming something that does not exist
        raise CommandDefinitionError(f"{name}: cannot read its type hints: "
                                     f"{type(error).__name__}: {error}") from None


def _with_enum_members(function: Callable, hints: dict[str, Any]) -> Callable[..., Any]:
    """The function, converting values of Enum parameters to members before the call."""
    converters = {name: conv for name, hint in hints.items()
                  if name != "return" and (conv := enum_converter(hint)) is not None}
    if not converters:
        return function

    @functools.wraps(function)
    def call(**args: Any) -> Any:
        return function(**{k: converters[k](v) if k in converters else v
                           for k, v in args.items()})

    return call


def _awaited(function: Callable) -> Callable[..., Any]:
    """An ``async def`` command runs in its own event loop in the job subprocess."""
    if not inspect.iscoroutinefunction(function):
        return function
    coroutine_function = function

    @functools.wraps(coroutine_function)
    def call(**args: Any) -> Any:
        return asyncio.run(coroutine_function(**args))

    return call


def _estimate_taking(estimate: Callable) -> Callable[..., Any]:
    """The estimate, given only the arguments it accepts (it may take a subset)."""
    parameters = inspect.signature(estimate).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return estimate
    accepted = {p.name for p in parameters}

    @functools.wraps(estimate)
    def call(**args: Any) -> Any:
        return estimate(**{k: v for k, v in args.items() if k in accepted})

    return call


def _identifier(text: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in text)
    return cleaned if cleaned.isidentifier() else "_" + cleaned
