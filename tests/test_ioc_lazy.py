"""Large PVs are built only for someone: a read or a new monitor always gets them current,
even after changes nobody watched; a monitor that stays open follows every change."""
import json
import threading

import epics
import numpy as np

from ca import get_json, get_value, put_checked
from conftest import add, wait_for

JOB = {"command": "wait", "args": {"seconds": 1.0}}


def monitor(name, text=True):
    """A new pyepics monitor (a GUI opening a widget): every value it is sent (as text for
    a CHAR waveform)."""
    seen, lock = [], threading.Lock()

    def arrived(char_value=None, value=None, **_):
        with lock:
            seen.append(char_value if text else list(np.atleast_1d(value)))
    pv = epics.PV(name, auto_monitor=True, callback=arrived, form="native")
    assert pv.wait_for_connection(timeout=10), name
    return pv, seen


def as_list(value):
    return [int(x) for x in value] if value is not None else []


def test_a_new_monitor_gets_changes_made_while_nobody_watched(ioc):
    ids = add(ioc, [JOB] * 4)
    put_checked(ioc.pv("QUEUE:MOVE"), {"id": ids[3], "pos": 0})       # nobody monitors QUEUE
    put_checked(ioc.pv("QUEUE:REMOVE"), [ids[1]])
    expected = [ids[3], ids[0], ids[2]]

    queue, queue_seen = monitor(ioc.pv("QUEUE"))
    ids_pv, ids_seen = monitor(ioc.pv("QUEUE:IDS"), text=False)
    row, row_seen = monitor(ioc.pv("QUEUE:ROW:0:ID"), text=False)     # a display's row
    assert wait_for(lambda: row_seen[:1], what="the first row update")[0] == [expected[0]]
    first = wait_for(lambda: queue_seen[:1], what="the first QUEUE update")[0]
    assert [job["id"] for job in json.loads(first)] == expected
    assert as_list(wait_for(lambda: ids_seen[:1], what="the first QUEUE:IDS update")[0]) \
        == expected

    # a monitor that stays open follows each change as soon as the put completes
    put_checked(ioc.pv("QUEUE:MOVE"), {"id": ids[2], "pos": 0})
    wait_for(lambda: [j["id"] for j in json.loads(queue_seen[-1])] == [ids[2], ids[3], ids[0]],
             what="the open QUEUE monitor to show the move")
    wait_for(lambda: as_list(ids_seen[-1]) == [ids[2], ids[3], ids[0]],
             what="the open QUEUE:IDS monitor to show the move")
    wait_for(lambda: row_seen[-1] == [ids[2]], what="the open row monitor to show the move")
    for pv in (queue, ids_pv, row):
        pv.disconnect()

    # and a plain read right after a put nobody watches is current too
    put_checked(ioc.pv("QUEUE:REMOVE"), [ids[3]])
    assert [job["id"] for job in get_json(ioc.pv("QUEUE"))] == [ids[2], ids[0]]
    assert as_list(get_value(ioc.pv("QUEUE:IDS"))) == [ids[2], ids[0]]
