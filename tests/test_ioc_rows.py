"""Row windows: the queue and history as scalar PVs, and id arrays of their true length."""
import math

import epics
import pytest
from caproto import ErrorResponseReceived

from ca import get, get_json, get_value, put, put_checked, read, refusal
from conftest import wait_for


def row(ioc, window, n, field):
    return get_value(ioc.pv(f"{window}:ROW:{n}:{field}")) if field in (
        "ID", "ESTIMATE", "DURATION") else get(ioc.pv(f"{window}:ROW:{n}:{field}"))


def test_queue_rows_follow_the_queue_and_the_offset_pages(make_ioc):
    ioc = make_ioc(extra_config="rows: 3\n").start()
    assert list(get_value(ioc.pv("QUEUE:IDS"))) == []          # empty, not [0]
    assert len(read(ioc.pv("QUEUE:ADD:IDS"))) == 0
    assert row(ioc, "QUEUE", 0, "ID") == 0 and row(ioc, "QUEUE", 0, "NAME") == ""
    assert math.isnan(row(ioc, "QUEUE", 0, "ESTIMATE"))
    assert epics.caget(ioc.pv("QUEUE:ROW:2:ID"), timeout=2) == 0     # rows: 3 -> 0, 1, 2
    assert epics.caget(ioc.pv("QUEUE:ROW:3:ID"), timeout=0.5) is None

    jobs = [{"command": "wait", "args": {"seconds": s}} for s in (1, 2, 3, 4)]
    put(ioc.pv("QUEUE:ADD"), jobs)
    ids = list(get_value(ioc.pv("QUEUE:ADD:IDS")))
    assert len(ids) == 4 and list(read(ioc.pv("QUEUE:ADD:IDS"))) == ids
    assert [row(ioc, "QUEUE", n, "ID") for n in range(3)] == ids[:3]
    assert row(ioc, "QUEUE", 1, "NAME") == "wait(seconds=2)"
    assert row(ioc, "QUEUE", 1, "KIND") == "command"
    by = get_json(ioc.pv("QUEUE"))[1]["by"]
    assert by and row(ioc, "QUEUE", 1, "BY") == by          # who queued it (the login)
    wait_for(lambda: row(ioc, "QUEUE", 1, "ESTIMATE") == 2.0, what="estimate of row 1")

    put_checked(ioc.pv("QUEUE:ROWS:OFFSET"), 2)
    assert [row(ioc, "QUEUE", n, "ID") for n in range(3)] == ids[2:] + [0]
    with pytest.raises(ErrorResponseReceived) as refused:
        put_checked(ioc.pv("QUEUE:ROWS:OFFSET"), -1)
    assert "0 or more" in refusal(refused) and "0 or more" in get(ioc.pv("ERROR"))
    assert get_value(ioc.pv("QUEUE:ROWS:OFFSET")) == 2

    put_checked(ioc.pv("QUEUE:REMOVE"), str(ids[2]))
    assert [row(ioc, "QUEUE", n, "ID") for n in range(3)] == [ids[3], 0, 0]


def test_history_rows_show_past_runs_newest_first(ioc):
    put(ioc.pv("QUEUE:ADD"), [{"script": "pass", "name": "first"},
                              {"script": "raise SystemExit(3)", "name": "second"}])
    ids = list(get_value(ioc.pv("QUEUE:ADD:IDS")))
    put(ioc.pv("QUEUE:MODE"), "CONTINUE_ON_FAILURE")
    put(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: row(ioc, "HISTORY", 0, "ID") == ids[1], timeout=20, what="second run")
    assert row(ioc, "HISTORY", 0, "STATUS") == "failed"
    assert row(ioc, "HISTORY", 1, "NAME") == "first"
    assert row(ioc, "HISTORY", 1, "STATUS") == "finished"
    assert row(ioc, "HISTORY", 1, "DURATION") >= 0
    assert len(row(ioc, "HISTORY", 1, "END")) == len("2026-01-01 12:00:00")
    assert row(ioc, "HISTORY", 2, "ID") == 0
    assert list(get_value(ioc.pv("QUEUE:IDS"))) == []
    put_checked(ioc.pv("HISTORY:ROWS:OFFSET"), 1)
    assert row(ioc, "HISTORY", 0, "NAME") == "first"
