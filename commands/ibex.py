"""IBEX script generator definitions, offered as commands.

An IBEX script definition is a file with one class (usually ``DoRun``) that has
``run(self, **params)``, ``parameters_valid(self, **params)`` (None, or a message saying
what is wrong), and optionally ``estimate_time(self, **params)`` (seconds) and
``get_help(self)``. Such a file becomes one command named after the file:
``do_run.py`` -> ``do_run``.

The definitions import ``genie_python.genie_script_generator``. Where genie_python is not
installed, a stand-in with the same names (``ScriptDefinition``, ``cast_parameters_to``,
``CopyPreviousRow``, ``GlobalParamValidationError``) is provided, so the same files run
here unchanged.
"""
from __future__ import annotations

import functools
import importlib.util
import inspect
import logging
import sys
import types
from typing import Any, Callable

logger = logging.getLogger(__name__)

GENIE_MODULE = "genie_script_generator"
REQUIRED_METHODS = ("run", "parameters_valid")


class ScriptDefinitionError(RuntimeError):
    """A script definition's ``run`` returned an error message instead of finishing."""


def is_script_definition(cls: type) -> bool:
    """Whether a class has the IBEX ``ScriptDefinition`` shape (duck-typed)."""
    return all(callable(getattr(cls, name, None)) for name in REQUIRED_METHODS) and not \
        inspect.isabstract(cls)


def has_own_estimate(cls: type) -> bool:
    """Whether the definition writes its own ``estimate_time`` (the base one says "no estimate")."""
    for klass in cls.__mro__:
        if klass is object or klass.__name__ == "ScriptDefinition":
            return False
        if "estimate_time" in vars(klass):
            return True
    return False


def make_instance(cls: type) -> Any:
    """An instance ready to call, its ``global_params`` set to their declared defaults."""
    instance = cls()
    definition = getattr(cls, "global_params_definition", None) or {}
    params: dict[str, Any] = {}
    for name, spec in dict(definition).items():
        default, cast = (spec[0], spec[1]) if isinstance(spec, (tuple, list)) else (spec, None)
        try:
            params[name] = cast(default) if callable(cast) else default
        except (TypeError, ValueError):
            params[name] = default
    if params or getattr(instance, "global_params", None) is None:
        instance.global_params = params
    return instance


def default_value(default: Any) -> Any:
    """A ``CopyPreviousRow(x)`` default stands for ``x`` here (there are no rows)."""
    if type(default).__name__ == "CopyPreviousRow":
        return getattr(default, "value", default)
    return default


def with_defaults(signature: inspect.Signature, args: dict[str, Any]) -> dict[str, Any]:
    """All of ``run``'s parameters, as IBEX passes them: given values, else the defaults."""
    full = {}
    for name, parameter in signature.parameters.items():
        if name in args:
            full[name] = args[name]
        elif parameter.default is not inspect.Parameter.empty:
            full[name] = default_value(parameter.default)
    return full


def parameter_casts(method: Callable) -> dict[str, Any]:
    """The casts a ``@cast_parameters_to(...)`` decorator declared (stand-in only)."""
    return dict(getattr(method, "__parameter_casts__", {}))


def install_genie_stand_in() -> None:
    """Make ``genie_python.genie_script_generator`` importable if genie_python is absent."""
    if "genie_python.genie_script_generator" in sys.modules:
        return
    try:
        if importlib.util.find_spec("genie_python") is not None:
            return
    except (ImportError, ValueError):
        pass
    package = sys.modules.get("genie_python") or types.ModuleType("genie_python")
    package.__path__ = []  # so `from genie_python import genie` fails as it should here
    module = types.ModuleType("genie_python.genie_script_generator")
    module.__dict__.update(ScriptDefinition=ScriptDefinition, cast_parameters_to=cast_parameters_to,
                           CopyPreviousRow=CopyPreviousRow,
                           GlobalParamValidationError=GlobalParamValidationError)
    package.genie_script_generator = module
    sys.modules["genie_python"] = package
    sys.modules["genie_python.genie_script_generator"] = module
    logger.debug("genie_python not installed; using the script server's stand-in")


# --- the stand-in for genie_python.genie_script_generator -----------------------------


class GlobalParamValidationError(Exception):
    """A global parameter of a script definition is not valid."""


class CopyPreviousRow:
    """A default that IBEX copies from the previous row; here it is just the default."""

    def __init__(self, default_value: Any) -> None:
        self.value = default_value


class ScriptDefinition:
    """Base class of IBEX script definitions (stand-in)."""

    global_params: dict[str, Any] | None = None

    def run(self, **kwargs: Any) -> str | None:
        raise NotImplementedError("a script definition must define run()")

    def parameters_valid(self, **kwargs: Any) -> str | None:
        return None

    def estimate_time(self, **kwargs: Any) -> float | None:
        return None

    def get_help(self) -> str:
        return ""


def cast_parameters_to(*positional: Callable, **casts: Callable) -> Callable:
    """Convert the named parameters before the method runs, as IBEX does.

    A value that cannot be converted makes the method return a message instead
    (IBEX's convention), which ``parameters_valid`` then reports as the refusal.
    """
    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def converted(self: Any, *args: Any, **kwargs: Any) -> Any:
            problems = []
            for name, cast in casts.items():
                if name in kwargs:
                    try:
                        kwargs[name] = cast(kwargs[name])
                    except (TypeError, ValueError):
                        problems.append(f"cannot convert {name}={kwargs[name]!r} to "
                                        f"{getattr(cast, '__name__', cast)}")
            args = tuple(cast(a) for cast, a in zip(positional, args)) + args[len(positional):]
            return "\n".join(problems) if problems else method(self, *args, **kwargs)

        converted.__parameter_casts__ = dict(casts)  # type: ignore[attr-defined]
        return converted

    return decorate
