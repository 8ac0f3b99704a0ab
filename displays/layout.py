"""What the displays show, where: one description, drawn as PyDM (.ui) and Phoebus (.bob).

Every PV is named after the prefix (the ``${P}`` macro is put in front when a
display file is written); ``generate.py`` refuses a name the PV table lacks.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from scriptserver.ioc.rows import DEFAULT_ROWS, HISTORY_FIELDS, QUEUE_FIELDS


@dataclass(frozen=True)
class Widget:
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Text(Widget):
    """Fixed words: a caption or a heading."""
    text: str = ""
    heading: bool = False


@dataclass(frozen=True)
class Value(Widget):
    """A PV's value, kept current."""
    pv: str = ""
    lines: str = ""                 # several lines of text, kept at the "top" or the "bottom"
    hide_when_zero: str = ""        # a PV: hide this value while that one is 0 (empty rows)


@dataclass(frozen=True)
class Bar(Widget):
    """A PV from 0 to 100 as a bar."""
    pv: str = ""


@dataclass(frozen=True)
class Button(Widget):
    """Writes a value to a control PV when pressed."""
    label: str = ""
    pv: str = ""
    value: int = 1


@dataclass(frozen=True)
class Choice(Widget):
    """A combo box over an enum PV."""
    pv: str = ""


@dataclass(frozen=True)
class Entry(Widget):
    """A text (or number) field that writes its PV on Enter."""
    pv: str = ""


@dataclass(frozen=True)
class Shell(Widget):
    """Runs a shell command (for what needs two PVs at once, e.g. log in)."""
    label: str = ""
    command: str = ""


@dataclass
class Screen:
    title: str
    width: int
    height: int
    widgets: list[Widget] = field(default_factory=list)

    def pvs(self) -> list[str]:
        return [w.pv for w in self.widgets if getattr(w, "pv", "")] + [
            w.hide_when_zero for w in self.widgets if getattr(w, "hide_when_zero", "")]


LOGIN = "scriptserver --prefix ${P} login"      # reads P:TOKEN, writes P:AUTH:LOGIN
CONTROLS = (("Start", "QUEUE:START"), ("Stop", "QUEUE:STOP"), ("Pause", "JOB:PAUSE"),
            ("Pause now", "JOB:PAUSE:NOW"), ("Resume", "JOB:RESUME"), ("Abort", "JOB:ABORT"),
            ("Halt", "JOB:HALT"))
JOB = (("Job id", "JOB:ID"), ("Name", "JOB:NAME"), ("Kind", "JOB:KIND"),
       ("Line", "JOB:LINE"), ("Elapsed", "JOB:ELAPSED"), ("Remaining", "JOB:REMAINING"),
       ("Estimate", "JOB:ESTIMATE"), ("Message", "JOB:MESSAGE"))


def control_screen() -> Screen:
    """Server state, the current job, the buttons, the command form, the last error."""
    s = Screen("Script server", 960, 700)
    add = s.widgets.append
    add(Text(10, 8, 600, 30, "Script server ${P}", heading=True))
    for i, (caption, pv) in enumerate((("Server", "STATE"), ("Queue", "QUEUE:STATE"))):
        add(Text(10 + i * 250, 48, 70, 26, caption))
        add(Value(80 + i * 250, 48, 160, 26, pv))
    add(Text(505, 48, 110, 26, "Mode"))
    add(Choice(615, 48, 225, 26, "QUEUE:MODE"))
    add(Text(505, 80, 110, 26, "When empty"))
    add(Choice(615, 80, 225, 26, "QUEUE:WHEN_EMPTY"))
    add(Text(10, 80, 70, 26, "Queued"))
    add(Value(80, 80, 160, 26, "QUEUE:LEN"))
    add(Text(260, 80, 70, 26, "ETA"))
    add(Value(330, 80, 160, 26, "QUEUE:ETA"))
    for i, (label, pv) in enumerate(CONTROLS):
        add(Button(10 + i * 116, 118, 108, 32, label, pv))
    add(Shell(840, 118, 110, 32, "Log in", LOGIN))

    add(Text(10, 165, 300, 26, "Current job", heading=True))
    for i, (caption, pv) in enumerate(JOB):
        column, row = divmod(i, 4)
        add(Text(10 + column * 470, 198 + row * 32, 100, 26, caption))
        add(Value(110 + column * 470, 198 + row * 32, 350, 26, pv))
    add(Text(10, 334, 90, 26, "Progress"))
    add(Bar(110, 326, 820, 42, "JOB:PROGRESS"))
    add(Text(10, 374, 90, 26, "Output"))
    add(Value(110, 374, 820, 120, "JOB:OUTPUT", lines="bottom"))

    add(Text(10, 505, 400, 26, "Add a command job", heading=True))
    add(Text(10, 538, 90, 26, "Command"))
    add(Choice(110, 538, 190, 28, "FORM:COMMAND"))
    add(Text(310, 538, 98, 26, "Arguments"))
    add(Entry(410, 538, 380, 28, "FORM:ARGS"))
    add(Button(800, 536, 130, 32, "Add to queue", "FORM:ADD"))
    add(Value(110, 572, 820, 26, "FORM:HELP"))
    add(Text(10, 615, 90, 26, "Last error"))
    add(Value(110, 615, 820, 60, "ERROR", lines="top"))
    return s


def _table(s: Screen, top: int, window: str, fields, widths: dict[str, int],
           rows: int) -> None:
    add = s.widgets.append
    stem = window.upper()
    add(Text(10, top, 300, 26, "Queue" if window == "queue" else "History", heading=True))
    add(Text(560, top, 280, 26, "first row: " +
             ("queue position" if window == "queue" else "past run (0: newest)")))
    add(Entry(850, top, 80, 26, f"{stem}:ROWS:OFFSET"))
    x = 10
    for f in fields:
        add(Text(x, top + 32, widths[f.name] - 6, 24, f.name.title()))
        for n in range(rows):
            pv = f"{stem}:ROW:{n}:{f.name}"
            add(Value(x, top + 58 + n * 26, widths[f.name] - 6, 24, pv,
                      hide_when_zero=f"{stem}:ROW:{n}:ID"))
        x += widths[f.name]


def tables_screen(rows: int = DEFAULT_ROWS) -> Screen:
    """The queue and the history as tables bound to the row PVs."""
    height = 2 * (100 + rows * 26) + 40
    s = Screen("Script server: queue and history", 960, height)
    _table(s, 10, "queue", QUEUE_FIELDS,
           {"ID": 80, "NAME": 420, "KIND": 130, "ESTIMATE": 130, "BY": 160}, rows)
    _table(s, 10 + 100 + rows * 26 + 20, "history", HISTORY_FIELDS,
           {"ID": 80, "NAME": 400, "STATUS": 120, "DURATION": 120, "END": 200}, rows)
    return s


SCREENS = {"scriptserver": control_screen, "queue": tables_screen}
