"""Reading a command's docstring: its summary and what it says about each parameter.

Three common layouts are understood, so scientists can keep the habit they have::

    Parameters              (numpy style)
    ----------
    energy : float
        Incident energy.

    Args:                   (Google style; also "Arguments:" or "Parameters:")
        energy (float): Incident energy.

    :param energy: Incident energy.      (Sphinx style)

Pure: no I/O.
"""
from __future__ import annotations

import inspect
import re

GOOGLE_HEADERS = {"args:", "arguments:", "parameters:", "params:", "keyword args:",
                  "keyword arguments:"}
NUMPY_HEADERS = {"parameters", "other parameters", "keyword arguments"}
NUMPY_ENTRY = re.compile(r"^(?P<names>\*{0,2}\w+(\s*,\s*\*{0,2}\w+)*)\s*(:.*)?$")
GOOGLE_ENTRY = re.compile(r"^(?P<name>\*{0,2}\w+)\s*(\([^)]*\))?\s*:(?P<text>.*)$")
SPHINX_ENTRY = re.compile(r"^:param\s+(?:[^:]*\s)?(?P<name>\w+)\s*:(?P<text>.*)$")


def clean(doc: str | None) -> str:
    """The docstring with its indentation removed; "" when there is none."""
    return inspect.cleandoc(doc) if doc else ""


def summary(doc: str | None) -> str:
    """The first paragraph of a docstring, on one line."""
    first = clean(doc).split("\n\n", 1)[0]
    return " ".join(first.split())


def parameter_descriptions(doc: str | None) -> dict[str, str]:
    """Each documented parameter's description, on one line, by parameter name."""
    lines = clean(doc).splitlines()
    found: dict[str, str] = {}
    for start, line in enumerate(lines):
        header = line.strip().lower()
        if header in NUMPY_HEADERS and _is_underline(lines, start + 1):
            found.update(_numpy_section(lines, start + 2))
        elif header in GOOGLE_HEADERS:
            found.update(_google_section(lines, start + 1, _indent(line)))
        elif SPHINX_ENTRY.match(line.strip()):
            found.update(_sphinx_entry(lines, start))
    return found


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_underline(lines: list[str], index: int) -> bool:
    return index < len(lines) and set(lines[index].strip()) == {"-"}


def _join(parts: list[str]) -> str:
    return " ".join(" ".join(parts).split())


def _numpy_section(lines: list[str], start: int) -> dict[str, str]:
    found: dict[str, str] = {}
    base = None
    names: list[str] = []
    text: list[str] = []
    for index in range(start, len(lines)):
        line = lines[index]
        if not line.strip():
            continue
        if base is None:
            base = _indent(line)
        if _indent(line) < base or _is_underline(lines, index + 1):
            break  # the next section
        if _indent(line) > base:
            text.append(line)
            continue
        entry = NUMPY_ENTRY.match(line.strip())
        if not entry:
            break  # text after the section
        found.update({n: _join(text) for n in names})
        names = [n.strip().lstrip("*") for n in entry.group("names").split(",")]
        text = []
    found.update({n: _join(text) for n in names})
    return found


def _google_section(lines: list[str], start: int, header_indent: int) -> dict[str, str]:
    found: dict[str, str] = {}
    base = None
    name = None
    text: list[str] = []
    for line in lines[start:]:
        if not line.strip():
            continue
        if _indent(line) <= header_indent:
            break
        if base is None:
            base = _indent(line)
        entry = GOOGLE_ENTRY.match(line.strip()) if _indent(line) <= base else None
        if entry:
            if name:
                found[name] = _join(text)
            name, text = entry.group("name").lstrip("*"), [entry.group("text")]
        elif name:
            text.append(line)
    if name:
        found[name] = _join(text)
    return found


def _sphinx_entry(lines: list[str], start: int) -> dict[str, str]:
    entry = SPHINX_ENTRY.match(lines[start].strip())
    assert entry is not None
    text = [entry.group("text")]
    for line in lines[start + 1:]:
        if not line.strip() or line.strip().startswith(":") or _indent(line) <= _indent(lines[start]):
            break
        text.append(line)
    return {entry.group("name"): _join(text)}
