"""Scripts that declare their parameters: ``def main(...)`` with typed parameters.

Such a script is run by calling ``main(**params)`` after its module body (the style of
SKA's OET), and its ``params`` are checked against the signature exactly as a command's
arguments are (``validate.check_call``, same words on refusal). The signature is read
from the source with ``ast`` — the script never runs in the IOC — so annotations must be
written the way command annotations are: ``float``, ``int``, ``str``, ``bool``,
``list[float]``, ``X | None``, ``Literal["a", "b"]``, ``Annotated[float, "mm", (0, 10)]``;
defaults must be literals.
"""
from __future__ import annotations

import ast
from typing import Any

MAIN = "main"


class MainSignatureError(ValueError):
    """``main``'s signature cannot be read without running the script; ``line`` says where."""

    def __init__(self, line: int, text: str):
        super().__init__(text)
        self.line = line


def main_function(tree: ast.Module) -> ast.FunctionDef | None:
    """The top-level ``def main`` that takes parameters, if the script has one."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == MAIN and _takes_any(node.args):
            return node
    return None


def calls_main_itself(tree: ast.Module) -> bool:
    """The module body calls ``main`` (``main(...)``, or under ``if __name__ ==
    "__main__":``): then the server does not call it again."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) \
                    and inner.func.id == MAIN:
                return True
    return False


def _takes_any(arguments: ast.arguments) -> bool:
    return bool(arguments.posonlyargs or arguments.args or arguments.kwonlyargs
                or arguments.vararg or arguments.kwarg)


def runs_main(tree: ast.Module) -> bool:
    """Whether the server calls ``main(**params)`` after the module body."""
    return main_function(tree) is not None and not calls_main_itself(tree)


def main_description(tree: ast.Module) -> dict[str, Any] | None:
    """A command-style description of ``main`` (for ``validate.check_call``), or None."""
    function = main_function(tree)
    if function is None or calls_main_itself(tree):
        return None
    arguments = function.args
    if arguments.posonlyargs:
        raise MainSignatureError(function.lineno, "main's parameters are given by name: "
                                 "remove the '/'")
    if arguments.vararg or arguments.kwarg:
        raise MainSignatureError(function.lineno, "main must list its parameters by name "
                                 "(no *args or **kwargs), so params can be checked")
    named = arguments.args + arguments.kwonlyargs
    defaults = [None] * (len(arguments.args) - len(arguments.defaults)) + \
        list(arguments.defaults) + list(arguments.kw_defaults)
    return {"name": MAIN, "kind": "function",
            "parameters": [_parameter(a, d) for a, d in zip(named, defaults)]}


def _parameter(argument: ast.arg, default: ast.expr | None) -> dict[str, Any]:
    described = {"name": argument.arg, "type": "Any", "units": "", "limits": None,
                 "allowed": None, "required": default is None, "default": None,
                 "description": ""}
    if default is not None:
        described["default"] = _literal(default, f"the default of {argument.arg}")
    if argument.annotation is not None:
        described.update(_annotation(argument.annotation, argument.arg))
    elif default is not None and described["default"] is not None:
        described["type"] = type(described["default"]).__name__
    return described


def _annotation(node: ast.expr, name: str) -> dict[str, Any]:
    head = node.value if isinstance(node, ast.Subscript) else node
    head_name = head.attr if isinstance(head, ast.Attribute) else getattr(head, "id", "")
    if isinstance(node, ast.Subscript) and head_name == "Annotated":
        elements = _elements(node.slice)
        found = _annotation(elements[0], name)
        for meta in elements[1:]:
            value = _literal(meta, f"the annotation of {name}")
            if isinstance(value, str):
                found["units"] = value
            elif isinstance(value, tuple) and len(value) == 2:
                found["limits"] = list(value)
        return found
    if isinstance(node, ast.Subscript) and head_name == "Literal":
        allowed = [_literal(e, f"the allowed values of {name}") for e in _elements(node.slice)]
        return {"type": "Literal", "allowed": allowed}
    if isinstance(node, ast.Subscript) and head_name == "Optional":
        return {"type": f"{ast.unparse(node.slice)} | None"}
    return {"type": ast.unparse(node)}


def _elements(node: ast.expr) -> list[ast.expr]:
    return list(node.elts) if isinstance(node, ast.Tuple) else [node]


def _literal(node: ast.expr, what: str) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise MainSignatureError(node.lineno, f"{what} must be a literal value "
                                 f"(a number, text, list...), not {ast.unparse(node)}") from None
