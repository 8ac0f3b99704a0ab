"""Queue semantics as users of queue servers expect them, through a real IOC and real
CA clients: the queue stops when it runs out, positions, stop/abort/halt, the held
queue, paused time, history clearing, policies kept across restarts.

Every put whose acceptance matters goes through caproto's client, which raises when
the server refuses; jobs are held and released by gate files, never by fixed sleeps.
"""
import json

import pytest
from caproto import ChannelType, ErrorResponseReceived
from caproto.sync import client as caproto_client

from ca import TIMEOUT, fresh, get, get_json, get_value, put_checked, refusal
from conftest import wait_for

GATE_SCRIPT = """
import os, time
from scriptserver.jobs.api import pause_point
pause_point()
open({started!r}, "w").close()
try:
    while not os.path.exists({gate!r}):
        time.sleep(0.02)
finally:
    open({cleanup!r}, "w").close()
"""


def add(ioc, job) -> list[int]:
    """Queue through caproto (a refusal raises); the ids of this add."""
    put_checked(ioc.pv("QUEUE:ADD"), job)
    return [int(i) for i in get_value(ioc.pv("QUEUE:ADD:IDS"))]


def put_enum(ioc, suffix, choice):
    """Set an enum PV by its string, as caput does, through caproto (a refusal raises)."""
    caproto_client.write(ioc.pv(suffix), [choice], notify=True, data_type=ChannelType.STRING,
                         timeout=TIMEOUT, repeater=False)


def queue_ids(ioc) -> list[int]:
    return [job["id"] for job in get_json(ioc.pv("QUEUE")) or []]


def history(ioc) -> list[dict]:
    return get_json(ioc.pv("HISTORY")) or []


def ended(ioc, job_id, status):
    return wait_for(lambda: next((r for r in history(ioc) if r["id"] == job_id
                                  and r["status"] == status), None), timeout=20,
                    what=f"job {job_id} {status}")


def refused(ioc, suffix, value, words):
    with pytest.raises(ErrorResponseReceived) as excinfo:
        put_checked(ioc.pv(suffix), value)
    assert words in refusal(excinfo)
    assert words in get(ioc.pv("ERROR"))


def gated(tmp_path, name):
    files = {k: str(tmp_path / f"{name}.{k}") for k in ("started", "gate", "cleanup")}
    return {"script": GATE_SCRIPT.format(**files), "name": name}, files


def test_positions_before_after_negative_and_by_position(ioc):
    a, b = add(ioc, [{"script": "pass", "name": "a"}, {"script": "pass", "name": "b"}])
    (c,) = add(ioc, {"script": "pass", "name": "c", "before": b})
    (d,) = add(ioc, {"jobs": [{"script": "pass", "name": "d"}], "after": a})
    (e,) = add(ioc, {"script": "pass", "name": "e", "pos": -1})
    (f,) = add(ioc, {"script": "pass", "name": "f", "pos": -2})
    assert queue_ids(ioc) == [a, d, c, b, f, e]
    put_checked(ioc.pv("QUEUE:MOVE"), {"id": a, "pos": -1})
    assert queue_ids(ioc) == [d, c, b, f, e, a]
    put_checked(ioc.pv("QUEUE:GET"), {"pos": -1})
    assert get_json(ioc.pv("QUEUE:GET:RESULT"))["id"] == a
    put_checked(ioc.pv("QUEUE:REMOVE"), {"pos": 0})
    assert queue_ids(ioc) == [c, b, f, e, a]
    refused(ioc, "QUEUE:REMOVE", {"pos": 9}, "no job at position 9: the queue holds 5 job(s)")
    refused(ioc, "QUEUE:ADD", {"script": "pass", "after": 999}, "no queued job has id 999")
    refused(ioc, "QUEUE:ADD", {"script": "pass", "pos": 0, "before": c}, "not several")
    assert queue_ids(ioc) == [c, b, f, e, a]


def test_the_queue_stops_when_it_runs_out_unless_told_to_keep_running(make_ioc):
    ioc = make_ioc().start()
    refused(ioc, "QUEUE:START", 1, "it is empty; add jobs first")
    assert get(ioc.pv("QUEUE:STATE")) == "STOPPED"
    (a,) = add(ioc, {"script": "pass"})
    put_checked(ioc.pv("QUEUE:START"), 1)
    ended(ioc, a, "finished")
    wait_for(lambda: get(ioc.pv("QUEUE:STATE")) == "STOPPED", what="the queue to stop")

    put_enum(ioc, "QUEUE:WHEN_EMPTY", "KEEP_RUNNING")
    put_enum(ioc, "QUEUE:MODE", "CONTINUE_ON_FAILURE")
    put_checked(ioc.pv("QUEUE:START"), 1)
    assert get(ioc.pv("QUEUE:STATE")) == "RUNNING"
    (b,) = add(ioc, {"script": "pass"})
    ended(ioc, b, "finished")                     # started without anyone asking
    assert get(ioc.pv("QUEUE:STATE")) == "RUNNING"

    ioc.stop()                                    # what the operator set survives a restart
    ioc.start()
    assert fresh(ioc.pv("QUEUE:WHEN_EMPTY")) == "KEEP_RUNNING"
    assert fresh(ioc.pv("QUEUE:MODE")) == "CONTINUE_ON_FAILURE"


def test_halt_kills_at_once_without_cleanup_and_requeues(ioc, tmp_path):
    job, files = gated(tmp_path, "halted")
    (a,) = add(ioc, job)
    (b,) = add(ioc, {"script": "pass"})
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: (tmp_path / "halted.started").exists(), what="the job to start")
    put_checked(ioc.pv("JOB:HALT"), 1)
    run = ended(ioc, a, "halted")
    assert not (tmp_path / "halted.cleanup").exists(), "halt ran the job's cleanup"
    assert queue_ids(ioc) == [a, b] and get(ioc.pv("QUEUE:STATE")) == "STOPPED"
    assert get(ioc.pv("STATE")) == "IDLE" and run["error"]
    refused(ioc, "JOB:HALT", 1, "no job is running, so there is nothing to halt")


def test_abort_runs_cleanup_and_halt_cuts_a_hanging_one_short(ioc, tmp_path):
    hanging = ("import time\ntry:\n    open(%r, 'w').close()\n    time.sleep(60)\n"
               "finally:\n    time.sleep(60)\n" % str(tmp_path / "hang.started"))
    (a,) = add(ioc, {"script": hanging})
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: (tmp_path / "hang.started").exists(), what="the job to start")
    put_checked(ioc.pv("JOB:ABORT"), 1)
    assert get(ioc.pv("STATE")) == "ABORTING"
    put_checked(ioc.pv("JOB:HALT"), 1)
    ended(ioc, a, "halted")
    assert get(ioc.pv("STATE")) == "IDLE"


def test_a_pause_the_job_never_reaches_holds_the_queue_until_resume(ioc, tmp_path):
    job, files = gated(tmp_path, "held")         # its only pause point is at its start
    (a,) = add(ioc, job)
    (b,) = add(ioc, {"script": "pass", "name": "next"})
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: (tmp_path / "held.started").exists(), what="the job to start")
    put_checked(ioc.pv("JOB:PAUSE"), 1)
    assert get(ioc.pv("STATE")) == "PAUSING"
    open(files["gate"], "w").close()              # it ends before any other pause point
    ended(ioc, a, "finished")
    wait_for(lambda: get(ioc.pv("STATE")) == "HELD", what="the queue to be held")
    assert get_value(ioc.pv("JOB:ID")) == 0 and queue_ids(ioc) == [b]
    refused(ioc, "QUEUE:START", 1, "the queue is held after a pause: JOB:RESUME continues it")
    refused(ioc, "JOB:ABORT", 1, "the queue is held after a pause")
    put_checked(ioc.pv("JOB:RESUME"), 1)
    ended(ioc, b, "finished")


def test_paused_time_is_shown_apart_and_left_out_of_elapsed(ioc, tmp_path):
    job = {"script": "import os, time\nfrom scriptserver.jobs.api import pause_point\n"
                     f"while not os.path.exists({str(tmp_path / 'gate')!r}):\n"
                     "    pause_point()\n    time.sleep(0.02)\n"}
    (a,) = add(ioc, job)
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: get_value(ioc.pv("JOB:ELAPSED")) >= 0.5, what="elapsed to grow")
    put_checked(ioc.pv("JOB:PAUSE"), 1)
    wait_for(lambda: get(ioc.pv("STATE")) == "PAUSED", what="PAUSED")
    elapsed = get_value(ioc.pv("JOB:ELAPSED"))
    wait_for(lambda: get_value(ioc.pv("JOB:PAUSED:TIME")) >= 1.0, what="paused time to grow")
    assert get_value(ioc.pv("JOB:ELAPSED")) <= elapsed + 0.2     # the clock stood still
    put_checked(ioc.pv("JOB:RESUME"), 1)
    (tmp_path / "gate").touch()
    run = ended(ioc, a, "finished")
    assert run["paused"] > 0
    assert run["duration"] == pytest.approx(run["end"] - run["start"] - run["paused"], abs=0.01)


def test_history_clear_empties_the_history_but_keeps_the_record(ioc):
    (a,) = add(ioc, {"script": "pass"})
    put_checked(ioc.pv("QUEUE:SKIP"), "next")
    assert [r["id"] for r in history(ioc)] == [a]
    put_checked(ioc.pv("HISTORY:CLEAR"), 1)
    wait_for(lambda: history(ioc) == [], what="HISTORY to empty")
    put_checked(ioc.pv("QUEUE:GET"), str(a))
    record = get_json(ioc.pv("QUEUE:GET:RESULT"))
    assert record["id"] == a and [r["status"] for r in record["runs"]] == ["skipped"]


def test_current_job_pvs_start_empty_for_each_job(ioc, tmp_path):
    first = ("from scriptserver.jobs.api import progress, message\n"
             "progress(1.0)\nmessage('first done')\nprint('first output')\n")
    job, files = gated(tmp_path, "second")
    a, b = add(ioc, [{"script": first}, job])
    put_checked(ioc.pv("QUEUE:START"), 1)
    ended(ioc, a, "finished")
    wait_for(lambda: (tmp_path / "second.started").exists(), what="the second job to start")
    assert get_value(ioc.pv("JOB:ID")) == b
    assert get_value(ioc.pv("JOB:PROGRESS")) == 0.0
    assert get(ioc.pv("JOB:MESSAGE")) == "" and "first output" not in get(ioc.pv("JOB:OUTPUT"))
    open(files["gate"], "w").close()
    ended(ioc, b, "finished")
    wait_for(lambda: get_value(ioc.pv("JOB:ID")) == 0, what="no current job")
    assert get_value(ioc.pv("JOB:PROGRESS")) == 0.0 and get_value(ioc.pv("JOB:LINE")) == 0
    assert json.loads(get(ioc.pv("JOB:STACK")) or "[]") == []


def test_small_pvs_say_what_changed_without_rereading_the_queue(ioc):
    a, b = add(ioc, [{"script": "pass", "name": "a"}, {"script": "pass", "name": "b"}])
    change = get_json(ioc.pv("QUEUE:CHANGE"))
    assert change["op"] == "add" and change["ids"] == [a, b] and change["pos"] == 0
    put_checked(ioc.pv("QUEUE:MOVE"), {"id": b, "pos": 0})
    moved = get_json(ioc.pv("QUEUE:CHANGE"))
    assert (moved["op"], moved["ids"], moved["pos"]) == ("move", [b], 0)
    assert moved["seq"] == change["seq"] + 1
    put_checked(ioc.pv("QUEUE:SKIP"), str(b))
    assert get_json(ioc.pv("HISTORY:LAST"))["id"] == b
    assert get_json(ioc.pv("HISTORY:LAST"))["status"] == "skipped"
