"""A Screen as a PyDM display (Qt Designer .ui XML), opened with ``pydm -m '{"P": "P:"}' FILE``."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any, Callable

from .layout import Bar, Button, Choice, Entry, Screen, Shell, Text, Value, Widget

# PyDM class -> (the Qt class it extends, its module)
CLASSES = {
    "PyDMLabel": ("QLabel", "pydm.widgets.label"),
    "PyDMScaleIndicator": ("QFrame", "pydm.widgets.scale"),
    "PyDMPushButton": ("QPushButton", "pydm.widgets.pushbutton"),
    "PyDMEnumComboBox": ("QComboBox", "pydm.widgets.enum_combo_box"),
    "PyDMLineEdit": ("QLineEdit", "pydm.widgets.line_edit"),
    "PyDMShellCommand": ("QPushButton", "pydm.widgets.shell_command"),
}


def channel(pv: str) -> str:
    return f"ca://${{P}}{pv}"


def _property(parent: ET.Element, name: str, kind: str, value: Any, custom: bool = False):
    prop = ET.SubElement(parent, "property", {"name": name, **({"stdset": "0"} if custom else {})})
    if kind == "stringlist":
        holder = ET.SubElement(prop, "stringlist")
        for item in value:
            ET.SubElement(holder, "string").text = item
    elif kind == "rect":
        rect = ET.SubElement(prop, "rect")
        for key, number in zip(("x", "y", "width", "height"), value):
            ET.SubElement(rect, key).text = str(number)
    elif kind == "color":
        color = ET.SubElement(prop, "color")
        for key, number in zip(("red", "green", "blue"), value):
            ET.SubElement(color, key).text = str(number)
    elif kind == "font":
        font = ET.SubElement(prop, "font")
        ET.SubElement(font, "pointsize").text = "12"
        ET.SubElement(font, "bold").text = "true"
    else:
        ET.SubElement(prop, kind).text = str(value).lower() if kind == "bool" else str(value)
    return prop


def _hide_rule(pv: str) -> str:
    return json.dumps([{"name": "empty row", "property": "Visible", "initial_value": "",
                        "expression": "ch[0] != 0", "notes": "",
                        "channels": [{"channel": channel(pv), "trigger": True,
                                      "use_enum": False}]}])


def _text(e: ET.Element, w: Text) -> str:
    _property(e, "text", "string", w.text)
    if w.heading:
        _property(e, "font", "font", None)
    return "QLabel"


def _value(e: ET.Element, w: Value) -> str:
    _property(e, "channel", "string", channel(w.pv), custom=True)
    _property(e, "displayFormat", "enum", "PyDMLabel::String", custom=True)
    _property(e, "frameShape", "enum", "QFrame::StyledPanel")
    _property(e, "showUnits", "bool", True, custom=True)
    if w.lines:
        _property(e, "wordWrap", "bool", True)
        _property(e, "alignment", "set", "Qt::AlignLeading|Qt::AlignLeft|Qt::Align"
                  + w.lines.title())
    if w.hide_when_zero:
        _property(e, "rules", "string", _hide_rule(w.hide_when_zero), custom=True)
    return "PyDMLabel"


def _bar(e: ET.Element, w: Bar) -> str:
    _property(e, "channel", "string", channel(w.pv), custom=True)
    for name, on in (("barIndicator", True), ("showValue", True), ("showLimits", False),
                     ("showTicks", False), ("limitsFromChannel", True)):
        _property(e, name, "bool", on, custom=True)
    _property(e, "scaleHeight", "number", 22, custom=True)
    _property(e, "indicatorColor", "color", (52, 101, 164), custom=True)
    return "PyDMScaleIndicator"


def _button(e: ET.Element, w: Button) -> str:
    _property(e, "text", "string", w.label)
    _property(e, "channel", "string", channel(w.pv), custom=True)
    _property(e, "pressValue", "string", str(w.value), custom=True)
    return "PyDMPushButton"


def _choice(e: ET.Element, w: Choice) -> str:
    _property(e, "channel", "string", channel(w.pv), custom=True)
    return "PyDMEnumComboBox"


def _entry(e: ET.Element, w: Entry) -> str:
    _property(e, "channel", "string", channel(w.pv), custom=True)
    _property(e, "displayFormat", "enum", "PyDMLineEdit::String", custom=True)
    return "PyDMLineEdit"


def _shell(e: ET.Element, w: Shell) -> str:
    _property(e, "text", "string", w.label)
    _property(e, "commands", "stringlist", [w.command], custom=True)
    _property(e, "showIcon", "bool", False, custom=True)
    return "PyDMShellCommand"


DRAW: dict[type, Callable[[ET.Element, Any], str]] = {
    Text: _text, Value: _value, Bar: _bar, Button: _button, Choice: _choice, Entry: _entry,
    Shell: _shell}


def render(screen: Screen) -> str:
    ui = ET.Element("ui", version="4.0")
    ET.SubElement(ui, "class").text = "Form"
    form = ET.SubElement(ui, "widget", {"class": "QWidget", "name": "Form"})
    _property(form, "geometry", "rect", (0, 0, screen.width, screen.height))
    _property(form, "windowTitle", "string", screen.title)
    used: set[str] = set()
    for number, widget in enumerate(screen.widgets):
        element = ET.SubElement(form, "widget", name=f"{type(widget).__name__.lower()}_{number}")
        _property(element, "geometry", "rect", _box(widget))
        cls = DRAW[type(widget)](element, widget)
        element.set("class", cls)
        used.add(cls)
    custom = ET.SubElement(ui, "customwidgets")
    for cls in sorted(used & set(CLASSES)):
        entry = ET.SubElement(custom, "customwidget")
        ET.SubElement(entry, "class").text = cls
        ET.SubElement(entry, "extends").text = CLASSES[cls][0]
        ET.SubElement(entry, "header").text = CLASSES[cls][1]
    ET.SubElement(ui, "resources")
    ET.SubElement(ui, "connections")
    ET.indent(ui, " ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(ui, "unicode") + "\n"


def _box(w: Widget) -> tuple[int, int, int, int]:
    return (w.x, w.y, w.width, w.height)
