"""A Screen as a Phoebus display (.bob XML); the ``P`` macro defaults to ``P:``."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, Callable

from .layout import Bar, Button, Choice, Entry, Screen, Shell, Text, Value

DEFAULT_PREFIX = "P:"
STRING_FORMAT = "6"            # textupdate/textentry format: show a CHAR array as text


def pv_name(pv: str) -> str:
    return f"${{P}}{pv}"


def _add(parent: ET.Element, tag: str, text: Any = None, **attributes) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = str(text)
    return element


def _text(e: ET.Element, w: Text) -> tuple[str, str]:
    _add(e, "text", w.text)
    if w.heading:
        font = _add(e, "font")
        _add(font, "font", family="Liberation Sans", style="BOLD", size="16.0")
    return "label", "2.0.0"


def _value(e: ET.Element, w: Value) -> tuple[str, str]:
    _add(e, "pv_name", pv_name(w.pv))
    _add(e, "format", STRING_FORMAT)
    _add(e, "show_units", "true")
    if w.lines:
        _add(e, "vertical_alignment", "0" if w.lines == "top" else "2")
        _add(e, "wrap_words", "true")
    if w.hide_when_zero:
        rules = _add(e, "rules")
        rule = _add(rules, "rule", name="empty row", prop_id="visible", out_exp="false")
        _add(_add(rule, "exp", bool_exp="pv0 == 0"), "value", "false")
        _add(rule, "pv_name", pv_name(w.hide_when_zero))
    return "textupdate", "2.0.0"


def _bar(e: ET.Element, w: Bar) -> tuple[str, str]:
    _add(e, "pv_name", pv_name(w.pv))
    return "progressbar", "2.0.0"


def _write_action(e: ET.Element, kind: str, description: str, **fields: str) -> None:
    actions = _add(e, "actions")
    action = _add(actions, "action", type=kind)
    for key, value in fields.items():
        _add(action, key, value)
    _add(action, "description", description)


def _button(e: ET.Element, w: Button) -> tuple[str, str]:
    _write_action(e, "write_pv", w.label, pv_name=pv_name(w.pv), value=str(w.value))
    _add(e, "pv_name", pv_name(w.pv))
    _add(e, "text", w.label)
    return "action_button", "3.0.0"


def _choice(e: ET.Element, w: Choice) -> tuple[str, str]:
    _add(e, "pv_name", pv_name(w.pv))
    _add(e, "items_from_pv", "true")
    return "combo", "2.0.0"


def _entry(e: ET.Element, w: Entry) -> tuple[str, str]:
    _add(e, "pv_name", pv_name(w.pv))
    _add(e, "format", STRING_FORMAT)
    return "textentry", "3.0.0"


def _shell(e: ET.Element, w: Shell) -> tuple[str, str]:
    _write_action(e, "command", w.label, command=w.command)
    _add(e, "text", w.label)
    return "action_button", "3.0.0"


DRAW: dict[type, Callable[[ET.Element, Any], tuple[str, str]]] = {
    Text: _text, Value: _value, Bar: _bar, Button: _button, Choice: _choice, Entry: _entry,
    Shell: _shell}


def render(screen: Screen) -> str:
    display = ET.Element("display", version="2.0.0")
    _add(display, "name", screen.title)
    _add(_add(display, "macros"), "P", DEFAULT_PREFIX)
    _add(display, "width", screen.width)
    _add(display, "height", screen.height)
    for number, widget in enumerate(screen.widgets):
        element = ET.SubElement(display, "widget")
        _add(element, "name", f"{type(widget).__name__.lower()}_{number}")
        for key in ("x", "y", "width", "height"):
            _add(element, key, getattr(widget, key))
        kind, version = DRAW[type(widget)](element, widget)
        element.set("type", kind)
        element.set("version", version)
    ET.indent(display, "  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(display, "unicode") + "\n"
