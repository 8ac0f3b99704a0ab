"""Issue 2 end to end: a real IOC process, driven by pyepics and caproto's client."""
import json
import os
import re
import zlib

import epics
import pytest
from caproto import ErrorResponseReceived

from ca import (fresh, fresh_json, get, get_json, get_value, put, put_checked, read,
                refusal)
from conftest import IOC, add, wait_for


def history(ioc):
    return get_json(ioc.pv("HISTORY")) or []


def finished(ioc, job_id, status="finished"):
    return wait_for(lambda: next((r for r in history(ioc) if r["id"] == job_id
                                  and r["status"] == status), None),
                    timeout=20, what=f"job {job_id} {status}")



def test_a_command_job_runs_in_its_own_process_and_lands_in_history(ioc):
    ids = add(ioc, {"command": "wait", "args": {"seconds": 1.5}})
    assert len(ids) == 1
    queue = get_json(ioc.pv("QUEUE"))
    assert queue[0]["id"] == ids[0] and queue[0]["kind"] == "command"
    assert queue[0]["job"] == {"command": "wait", "args": {"seconds": 1.5}}
    assert get_value(ioc.pv("QUEUE:LEN")) == 1 and list(get_value(ioc.pv("QUEUE:IDS"))) == ids
    assert get(ioc.pv("QUEUE:STATE")) == "STOPPED" and get(ioc.pv("STATE")) == "IDLE"

    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: get(ioc.pv("STATE")) == "RUNNING", what="RUNNING")
    assert get_value(ioc.pv("JOB:ID")) == ids[0]
    assert get(ioc.pv("JOB:NAME")) == "wait(seconds=1.5)"
    assert get_json(ioc.pv("JOB"))["id"] == ids[0]
    wait_for(lambda: get_value(ioc.pv("JOB:ELAPSED")) >= 0.5, what="elapsed to grow")

    run = finished(ioc, ids[0])
    assert run["duration"] >= 1.5 and run["end"] > run["start"]
    assert get(ioc.pv("STATE")) == "IDLE" and get_value(ioc.pv("JOB:ID")) == 0
    wait_for(lambda: get(ioc.pv("QUEUE:STATE")) == "STOPPED", what="the queue to stop")  # ran out


def test_each_job_is_its_own_process_group(ioc):
    script = ("import os\nprint('pid', os.getpid(), 'pgid', os.getpgid(0), 'ppid', "
              "os.getppid())\n")
    ids = add(ioc, [{"script": script, "name": "who am i"}, {"script": script}])
    put_checked(ioc.pv("QUEUE:START"), 1)
    finished(ioc, ids[1])
    outputs = []
    for job_id in ids:
        put_checked(ioc.pv("QUEUE:GET"), str(job_id))
        record = wait_for(lambda: (r := get_json(ioc.pv("QUEUE:GET:RESULT"))) and
                          r["id"] == job_id and r)
        outputs.append(record["runs"][0]["output"].split())
    (_, pid1, _, pgid1, _, _), (_, pid2, _, pgid2, _, _) = outputs
    assert pid1 == pgid1 and pid2 == pgid2 and pid1 != pid2
    assert int(pid1) != ioc.process.pid


def test_a_typed_newline_inside_a_json_string_runs_as_two_lines(ioc):
    # caput -S sends the real newline; the JSON string then holds a control character
    (job_id,) = add(ioc, '{"script": "x = 41\nprint(x + 1)", "name": "two lines"}')
    put_checked(ioc.pv("QUEUE:START"), 1)
    finished(ioc, job_id)
    put_checked(ioc.pv("QUEUE:GET"), str(job_id))        # the put completes with the result set
    result = get_json(ioc.pv("QUEUE:GET:RESULT"))
    assert result["id"] == job_id and result["runs"][0]["output"] == "42\n"


def test_script_files_come_from_the_script_folders_only(ioc):
    (ioc.scripts / "hello.py").write_text("print('hello from a file')\n")
    ids = add(ioc, {"script_file": "hello.py"})
    assert get_json(ioc.pv("QUEUE"))[0]["name"] == "hello.py"
    for bad, why in [("../config.yaml", "'../config.yaml'.*inside a script folder"),
                     ("/etc/passwd", "'/etc/passwd'.*inside a script folder"),
                     ("nope.py", "no script 'nope.py'.*available: hello.py")]:
        with pytest.raises(ErrorResponseReceived) as refused:
            put_checked(ioc.pv("QUEUE:ADD"), {"script_file": bad})
        # this refusal's own words, in the put and in ERROR: not the previous iteration's
        assert re.search(why, refusal(refused)), refusal(refused)
        assert re.search(why, get(ioc.pv("ERROR"))) and bad in get(ioc.pv("ERROR"))
    assert list(get_value(ioc.pv("QUEUE:IDS"))) == ids


def test_a_list_is_queued_in_order_and_pos_places_jobs(ioc):
    a, b = add(ioc, [{"script": "pass", "name": "a"}, {"script": "pass", "name": "b"}])
    (c,) = add(ioc, {"script": "pass", "name": "c", "pos": "front"})
    (d,) = add(ioc, {"script": "pass", "name": "d", "pos": 1})
    e, f = add(ioc, {"jobs": [{"script": "pass", "name": "e"}, {"script": "pass"}], "pos": 0})
    assert list(get_value(ioc.pv("QUEUE:IDS"))) == [e, f, c, d, a, b]
    assert len({a, b, c, d, e, f}) == 6


def test_stop_lets_the_current_job_finish_and_clear_empties(ioc):
    first, second = add(ioc, [{"command": "wait", "args": {"seconds": 1}},
                              {"command": "wait", "args": {"seconds": 1}}])
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: get_value(ioc.pv("JOB:ID")) == first)
    put_checked(ioc.pv("QUEUE:STOP"), 1)
    assert get(ioc.pv("QUEUE:STATE")) == "STOPPING"
    finished(ioc, first)
    wait_for(lambda: get(ioc.pv("QUEUE:STATE")) == "STOPPED")
    assert list(get_value(ioc.pv("QUEUE:IDS"))) == [second]
    put_checked(ioc.pv("QUEUE:CLEAR"), 1)
    wait_for(lambda: get_value(ioc.pv("QUEUE:LEN")) == 0)


@pytest.mark.parametrize("script,reason", [
    ("x = 1\nraise ValueError('sample out of range')\n",
     "ValueError: sample out of range (line 2 of <job"),
    ("import sys\nsys.exit(3)\n", "sys.exit(3)"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", "killed by signal SIGKILL"),
])
def test_a_failing_job_is_recorded_and_stops_the_queue(ioc, script, reason):
    bad, after = add(ioc, [{"script": script, "name": "bad"}, {"script": "pass"}])
    put_checked(ioc.pv("QUEUE:START"), 1)
    run = finished(ioc, bad, "failed")
    assert reason in run["error"]
    if "ValueError" in reason:
        assert "Traceback" in run["traceback"] and "raise ValueError" in run["traceback"]
    wait_for(lambda: reason in get(ioc.pv("ERROR")))
    wait_for(lambda: get(ioc.pv("QUEUE:STATE")) == "STOPPED")
    assert list(get_value(ioc.pv("QUEUE:IDS"))) == [after]
    assert get(ioc.pv("STATE")) == "IDLE"          # the IOC is unaffected


def test_continue_on_failure_mode_keeps_going(ioc):
    put_checked(ioc.pv("QUEUE:MODE"), "CONTINUE_ON_FAILURE", enum=True)
    bad, good = add(ioc, [{"script": "1/0"}, {"script": "print('still here')"}])
    put_checked(ioc.pv("QUEUE:START"), 1)
    finished(ioc, bad, "failed")
    finished(ioc, good)
    wait_for(lambda: get(ioc.pv("QUEUE:STATE")) == "STOPPED", what="the queue to run out")


REFUSALS = [
    ("{not json", "not valid JSON"),
    ('{"command": "wait", "args": {"seconds": 1}, "colour": "red"}', "unknown key(s) 'colour'"),
    ('{"command": "wait", "args": {"seconds": "soon"}}', "seconds"),
    ('{"command": "wiat", "args": {"seconds": 1}}', "did you mean 'wait'"),
    ('{"script": "for x in\\n"}', "syntax error at line 1"),
    ('{"script": 5}', "must be Python source"),
    ('[{"script": "pass"}, {"command": "nope"}]', "job 2 of 2"),
    ('{"script": "pass", "pos": 99}', "outside the queue"),
    ('"just a string"', "not a string"),
]


@pytest.fixture(scope="module")
def refusing_ioc(tmp_path_factory):
    """One IOC for every refusal case: each starts from an empty queue and a new ERROR."""
    server = IOC(tmp_path_factory.mktemp("refusals")).start()
    yield server
    server.stop()


@pytest.mark.parametrize("payload,message", REFUSALS)
def test_malformed_requests_are_refused_and_change_nothing(refusing_ioc, payload, message):
    ioc = refusing_ioc
    put_checked(ioc.pv("QUEUE:CLEAR"), 1)
    (kept,) = add(ioc, {"script": "pass", "name": "kept"})
    error_before = get(ioc.pv("ERROR"))
    with pytest.raises(ErrorResponseReceived) as refused:
        put_checked(ioc.pv("QUEUE:ADD"), payload)
    words = refusal(refused)
    assert message in words
    # ERROR shows THIS refusal (the cases differ, so an unchanged ERROR would show)
    assert get(ioc.pv("ERROR")) == f"QUEUE:ADD: {words}" != error_before
    assert list(get_value(ioc.pv("QUEUE:IDS"))) == [kept]
    assert list(get_value(ioc.pv("QUEUE:ADD:IDS"))) == [kept]


def test_an_oversized_script_is_refused_with_a_way_out(ioc):
    big = json.dumps({"script": "x = 1\n" * 180_000})          # ~1.08 MB
    with pytest.raises(ErrorResponseReceived):
        put_checked(ioc.pv("QUEUE:ADD"), big)
    assert "script_file" in get(ioc.pv("ERROR"))
    assert get_value(ioc.pv("QUEUE:LEN")) == 0


def test_pyepics_put_of_a_refused_job_is_visible_in_error(ioc):
    # pyepics' put(wait=True) reports success even when refused: P:ERROR is where it shows
    put(ioc.pv("QUEUE:ADD"), '{"command": "set_e", "args": {}}')
    wait_for(lambda: "unknown command 'set_e'" in get(ioc.pv("ERROR")))
    assert get_value(ioc.pv("QUEUE:LEN")) == 0


def test_hex_pvs_carry_the_same_json(ioc):
    add(ioc, [{"script": "pass", "name": f"j{i}"} for i in range(50)])
    for name in ("QUEUE", "HISTORY"):
        text = get(ioc.pv(name))
        assert json.loads(zlib.decompress(bytes.fromhex(get(ioc.pv(name + ":HEX"))))) == \
            json.loads(text)
    assert read(ioc.pv("QUEUE:LEN"))[0] == 50            # caproto's client agrees


def test_camonitor_sees_state_changes_as_they_happen(ioc):
    seen = []
    monitor = epics.PV(ioc.pv("STATE"), auto_monitor=True, form="ctrl",
                       callback=lambda char_value=None, **kw: seen.append(char_value))
    wait_for(lambda: monitor.connected and seen, what="monitor")
    (job_id,) = add(ioc, {"command": "wait", "args": {"seconds": 0.5}})
    put_checked(ioc.pv("QUEUE:START"), 1)
    finished(ioc, job_id)
    wait_for(lambda: seen[-2:] == ["RUNNING", "IDLE"], what=f"monitor updates, saw {seen}")
    monitor.disconnect()


def test_queue_and_history_survive_a_restart_and_ids_never_repeat(make_ioc):
    server = make_ioc().start()
    done = add(server, {"script": "pass", "name": "done"})[0]
    put_checked(server.pv("QUEUE:START"), 1)
    finished(server, done)
    put_checked(server.pv("QUEUE:STOP"), 1)
    waiting = add(server, [{"script": "pass", "name": "w1"}, {"script": "pass", "name": "w2"}])
    server.stop()
    server.start()
    assert fresh(server.pv("QUEUE:IDS")) == waiting
    assert fresh_json(server.pv("HISTORY"))[0]["id"] == done
    put_checked(server.pv("QUEUE:ADD"), {"script": "pass"})
    assert fresh(server.pv("QUEUE:ADD:IDS")) > max(waiting)


def test_a_job_running_when_the_ioc_crashes_is_interrupted_not_rerun(make_ioc):
    server = make_ioc().start()
    (job_id,) = add(server, {"command": "wait", "args": {"seconds": 30}})
    put_checked(server.pv("QUEUE:START"), 1)
    wait_for(lambda: fresh(server.pv("STATE")) == "RUNNING")
    server.kill()
    server.start()
    assert fresh_json(server.pv("HISTORY"))[0]["status"] == "interrupted"
    assert fresh(server.pv("QUEUE:IDS")) == job_id
    assert fresh(server.pv("QUEUE:STATE")) == "STOPPED" and fresh(server.pv("STATE")) == "IDLE"


@pytest.mark.parametrize("with_launcher", [False, True])
def test_a_crash_of_the_ioc_takes_its_running_job_along(make_ioc, tmp_path, with_launcher):
    server = make_ioc().start()
    pid_file = tmp_path / "job.pid"
    script = f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(60)\n"
    add(server, {"script": script})
    put_checked(server.pv("QUEUE:START"), 1)
    pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text()))
    server.kill(with_launcher)

    def gone():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return open(f"/proc/{pid}/stat").read().split()[2] == "Z"   # exited, not yet reaped
    wait_for(gone, what="the job to stop with the IOC")
