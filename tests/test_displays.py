"""The shipped displays: generated from the PV table, and working against a real IOC.

PyDM displays are loaded headless (Qt's offscreen platform) in this process and
driven through their own widgets; their screenshots go to a temporary folder,
or to ``$SCREENSHOTS`` (``SCREENSHOTS=docs`` refreshes README's pictures).
"""
from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from caproto import ChannelType, ErrorResponseReceived  # noqa: E402
from caproto.sync import client as caproto_client  # noqa: E402
from pydm import Display  # noqa: E402
from pydm.utilities import close_widget_connections  # noqa: E402
from pydm.widgets import (PyDMEnumComboBox, PyDMLabel, PyDMLineEdit,  # noqa: E402
                          PyDMPushButton, PyDMScaleIndicator, PyDMShellCommand)
from pydm.widgets.base import PyDMWidget  # noqa: E402
from pydm.widgets.rules import unregister_widget_rules  # noqa: E402
from qtpy.QtCore import Qt  # noqa: E402
from qtpy.QtTest import QTest  # noqa: E402
from qtpy.QtWidgets import QApplication, QWidget  # noqa: E402

from ca import TIMEOUT, put_checked  # noqa: E402
from conftest import wait_for  # noqa: E402
from scriptserver.displays import generate  # noqa: E402
from scriptserver.displays.layout import Screen, Value  # noqa: E402
from scriptserver.ioc.pvs import PVS  # noqa: E402

# PyDM runs in a process of its own; so do these tests (tests/test_displays_run.py starts
# them), with a libca that has seen no other test's IOCs. In the shared test process a
# display's channel now and then never connected after ~40 earlier IOCs had come and gone.
OWN_PROCESS = "SCRIPTSERVER_DISPLAY_TESTS"
pytestmark = pytest.mark.skipif(not os.environ.get(OWN_PROCESS),
                                reason="run in a process of their own by test_displays_run.py")

FOLDER = generate.FOLDER
BOB_WIDGETS = {"label", "textupdate", "progressbar", "action_button", "combo", "textentry"}
JOB_WITH_PROGRESS = """\
import time
from scriptserver.jobs.api import message, progress
message("scanning")
for i in range(1, 201):
    progress(i / 200)
    print("point", i)
    time.sleep(0.05)
"""


def test_the_display_files_are_what_the_generator_writes():
    for name, text in generate.files().items():
        assert (FOLDER / name).read_text() == text, \
            "run: python -m scriptserver.displays.generate"


def test_the_generator_refuses_a_pv_the_server_does_not_serve():
    screen = Screen("bad", 100, 100, [Value(0, 0, 10, 10, "QUEUE:LENGTH")])
    with pytest.raises(generate.UnknownPV, match="QUEUE:LENGTH"):
        generate.check(screen)


@pytest.mark.parametrize("name", sorted(p.name for p in FOLDER.glob("*.bob")))
def test_phoebus_displays_are_well_formed_and_name_only_served_pvs(name):
    root = ET.parse(FOLDER / name).getroot()
    assert root.tag == "display" and root.find("macros/P").text == "P:"
    widgets = root.findall("widget")
    assert widgets and {w.get("type") for w in widgets} <= BOB_WIDGETS
    named = [e.text for e in root.iter("pv_name")]
    assert named and all(n.startswith("${P}") for n in named)
    served = {pv.name for pv in PVS}
    assert {n[len("${P}"):] for n in named} - served == set()


# -- PyDM, live ---------------------------------------------------------------------
# The test's own reads and writes use caproto's client, so that PyDM (pyepics) is the
# only user of libca in this process.

def get(name: str):
    """A PV's value as text (enums by their name), or a list of numbers for an array."""
    data = caproto_client.read(name, data_type=ChannelType.STRING, timeout=TIMEOUT,
                               repeater=False).data
    if len(data) == 1 and isinstance(data[0], bytes):
        return data[0].decode()
    raw = caproto_client.read(name, timeout=TIMEOUT, repeater=False).data
    return bytes(raw).split(b"\0")[0].decode() if raw.dtype.itemsize == 1 else list(raw)


put = put_checked


@pytest.fixture(scope="module")
def app():
    return QApplication.instance() or QApplication([])


@pytest.fixture
def displays(app, ioc):
    """Displays opened by a test; their channels are closed before the IOC stops, so
    pyepics never sees that IOC go away under a live display."""
    opened: list[Display] = []
    yield opened
    for display in opened:
        unregister_widget_rules(display)
        close_widget_connections(display)
        display.close()
        display.deleteLater()
    app.processEvents()


def qt_wait(app, condition, timeout: float = 15.0, what: str = ""):
    """Wait for ``condition`` while Qt handles its events (monitors, repaints)."""
    def handled_then_checked():
        app.processEvents()
        return condition()
    return wait_for(handled_then_checked, timeout=timeout, what=what)


def open_display(app, ioc, displays: list, name: str) -> Display:
    display = Display(ui_filename=str(FOLDER / f"{name}.ui"), macros={"P": ioc.prefix})
    displays.append(display)
    screen = generate.SCREENS[name]()
    display.resize(screen.width, screen.height)
    display.show()
    bound = [w for w in display.findChildren(QWidget) if isinstance(w, PyDMWidget)
             and w.channels()]
    assert len(bound) == len(screen.pvs()) - sum(1 for w in screen.widgets
                                                 if getattr(w, "hide_when_zero", ""))
    def unconnected() -> list[str]:
        return [str(w.channels()[0].address) for w in bound if not w._connected]
    # libca (under PyDM) backs its searches off on a busy machine: allow it the time
    try:
        qt_wait(app, lambda: not unconnected(), timeout=40, what="every channel to connect")
    except AssertionError as timed_out:
        raise AssertionError(f"{timed_out}; still unconnected: {unconnected()}") from None
    labels = [w for w in bound if isinstance(w, PyDMLabel)]
    qt_wait(app, lambda: not [w for w in labels if w.text().startswith("ca://")],
            what="every value to arrive")
    return display


def by_channel(display: Display, cls, pv: str):
    return next(w for w in display.findChildren(cls) if w.channel.endswith(":" + pv)
                or w.channel.split("://", 1)[1].split(":", 1)[1] == pv)


def shoot(display: Display, name: str, tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS") or tmp_path)
    path = folder / f"display-{name}.png"
    assert display.grab().save(str(path))
    return path


def accepted(name: str, value) -> bool:
    try:
        put(name, value)
    except ErrorResponseReceived:
        return False
    return True


def test_control_display_runs_the_beamline(app, ioc, displays, tmp_path, monkeypatch):
    display = open_display(app, ioc, displays, "scriptserver")
    text = lambda pv: by_channel(display, PyDMLabel, pv).text()  # noqa: E731
    button = lambda pv: by_channel(display, PyDMPushButton, pv)  # noqa: E731
    assert text("STATE") == "IDLE" and text("QUEUE:STATE") == "STOPPED"

    # "Log in" runs the command-line client (installed beside this Python)
    put(ioc.pv("AUTH:LOGOUT"), "me")
    assert not accepted(ioc.pv("FORM:ARGS"), "seconds=1")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    QTest.mouseClick(display.findChild(PyDMShellCommand), Qt.LeftButton)
    qt_wait(app, lambda: accepted(ioc.pv("FORM:ARGS"), "seconds=1"), what="the display's login")

    # the form: a command from the list, its arguments typed, then "Add to queue"
    combo = by_channel(display, PyDMEnumComboBox, "FORM:COMMAND")
    qt_wait(app, lambda: combo.count() > 1, what="command names in the combo")
    combo.setCurrentIndex(combo.findText("wait"))
    combo.activated[int].emit(combo.currentIndex())
    qt_wait(app, lambda: get(ioc.pv("FORM:COMMAND")) == "wait", what="form command")
    entry = by_channel(display, PyDMLineEdit, "FORM:ARGS")
    entry.setText("seconds=60")
    entry.send_value()
    qt_wait(app, lambda: get(ioc.pv("FORM:ARGS")) == "seconds=60", what="form arguments")
    qt_wait(app, lambda: text("FORM:HELP").startswith("wait seconds="), what="help")
    put(ioc.pv("QUEUE:ADD"), {"script": JOB_WITH_PROGRESS, "name": "scan"})
    button("FORM:ADD").click()
    qt_wait(app, lambda: text("QUEUE:LEN").split()[0] == "2", what="the form's job queued")

    button("QUEUE:START").click()
    qt_wait(app, lambda: text("JOB:NAME") == "scan", what="the job in the display")
    bar = by_channel(display, PyDMScaleIndicator, "JOB:PROGRESS")
    first = qt_wait(app, lambda: bar.scale_indicator._value > 0 and bar.scale_indicator._value,
                    what="the progress bar to move")
    qt_wait(app, lambda: bar.scale_indicator._value > first, what="the bar to follow")
    assert text("JOB:KIND") == "script" and text("JOB:MESSAGE") == "scanning"
    qt_wait(app, lambda: "point" in text("JOB:OUTPUT"), what="output")
    qt_wait(app, lambda: bar.scale_indicator._value >= 25 and text("JOB:REMAINING") != "nan s",
            what="a quarter done, with a time left")
    shoot(display, "scriptserver", tmp_path)

    button("JOB:PAUSE:NOW").click()
    qt_wait(app, lambda: text("STATE") == "PAUSED", what="PAUSED")
    button("JOB:RESUME").click()
    qt_wait(app, lambda: text("STATE") == "RUNNING", what="RUNNING")
    button("QUEUE:STOP").click()
    qt_wait(app, lambda: text("QUEUE:STATE") == "STOPPING", what="STOPPING")
    button("JOB:ABORT").click()
    qt_wait(app, lambda: text("STATE") == "IDLE", what="aborted")
    button("JOB:RESUME").click()                  # nothing to resume: refused, shown
    qt_wait(app, lambda: "JOB:RESUME" in text("ERROR"), what="the refusal in the display")
    button("QUEUE:START").click()                 # the aborted job runs again ...
    qt_wait(app, lambda: text("STATE") == "RUNNING", what="RUNNING again")
    button("JOB:HALT").click()                    # ... and is halted
    qt_wait(app, lambda: text("STATE") == "IDLE" and text("QUEUE:STATE") == "STOPPED",
            what="halted")


def test_queue_display_tables_follow_the_queue_and_history(app, ioc, displays, tmp_path):
    put(ioc.pv("QUEUE:ADD"), [{"script": "print('done')", "name": f"quick {i}"}
                              for i in range(3)] + [
        {"command": "wait", "args": {"seconds": 30}},
        {"command": "set_ei", "args": {"energy": 25}},
        {"command": "count", "args": {"seconds": 5}}])
    ids = get(ioc.pv("QUEUE:ADD:IDS"))
    ran, queued = ids[:3], ids[3:]
    put(ioc.pv("QUEUE:START"), 1)
    display = open_display(app, ioc, displays, "queue")
    text = lambda pv: by_channel(display, PyDMLabel, pv).text()  # noqa: E731
    qt_wait(app, lambda: text("HISTORY:ROW:0:ID") == str(ran[2]), what="history rows")
    assert [text(f"HISTORY:ROW:{n}:NAME") for n in range(3)] == ["quick 2", "quick 1",
                                                                   "quick 0"]
    assert text("HISTORY:ROW:0:STATUS") == "finished"
    qt_wait(app, lambda: text("QUEUE:ROW:0:ID") == str(queued[1]), what="queue rows")
    assert text("QUEUE:ROW:0:NAME") == "set_ei(energy=25)"
    rows = generate.SCREENS["queue"]().pvs()
    empty = [by_channel(display, PyDMLabel, pv) for pv in rows if ":ROW:" in pv and (
        pv.startswith("QUEUE") and int(pv.split(":")[2]) >= 2
        or pv.startswith("HISTORY") and int(pv.split(":")[2]) >= 3)]
    qt_wait(app, lambda: not any(w.isVisible() for w in empty), what="empty rows hidden")
    assert by_channel(display, PyDMLabel, "QUEUE:ROW:1:NAME").isVisible()
    shoot(display, "queue", tmp_path)

    offset = by_channel(display, PyDMLineEdit, "QUEUE:ROWS:OFFSET")
    offset.setText("1")
    offset.send_value()
    qt_wait(app, lambda: text("QUEUE:ROW:0:ID") == str(queued[2]), what="paged rows")
    put(ioc.pv("JOB:ABORT"), 1)
