"""Issue 4 end to end: queue editing and job control through a real IOC, with real jobs.

Every job here is a real subprocess started by the IOC's fork server. Jobs talk
to the test through files in ``tmp_path`` (their pids, a counter, a cleanup
marker) and are held or released by "gate" files, so nothing waits on a fixed
sleep; the only sleeps are short windows in which something must *not* change.
"""
import json
import os
import sys
import time
from pathlib import Path

import epics
import pytest
from caproto import ErrorResponseReceived

from ca import get, get_json, get_value, put_checked, refusal
from conftest import add, wait_for
from scriptserver.runner.tree import group_gone

QUIET = 0.3        # s of paused time watched to show that a paused job does not advance


def paused_for_a_while(ioc) -> None:
    """Wait until the server has counted QUIET seconds of the job being paused."""
    wait_for(lambda: get_value(ioc.pv("JOB:PAUSED:TIME")) >= QUIET,
             what=f"{QUIET} s of paused time")


# -- helpers -----------------------------------------------------------------------


def ids(ioc) -> list[int]:
    if get_value(ioc.pv("QUEUE:LEN")) == 0:
        return []
    return [int(i) for i in get_value(ioc.pv("QUEUE:IDS"))]


def history(ioc) -> list[dict]:
    return get_json(ioc.pv("HISTORY")) or []


def ended(ioc, job_id, status="finished", timeout=20):
    """The newest history entry of ``job_id``, once it has ``status``."""
    return wait_for(lambda: next((r for r in history(ioc) if r["id"] == job_id
                                  and r["status"] == status), None),
                    timeout=timeout, what=f"job {job_id} {status}")


def state(ioc) -> str:
    return get(ioc.pv("STATE"))


def wait_state(ioc, wanted, timeout=10):
    wait_for(lambda: state(ioc) == wanted, timeout=timeout, what=f"STATE {wanted}")


def record(ioc, job_id) -> dict:
    put_checked(ioc.pv("QUEUE:GET"), str(job_id))
    return wait_for(lambda: (r := get_json(ioc.pv("QUEUE:GET:RESULT"))) and r["id"] == job_id
                    and r, what=f"QUEUE:GET:RESULT for {job_id}")


def snapshot(ioc) -> dict:
    """Everything a refusal must leave as it was."""
    return {name: get(ioc.pv(name)) for name in
            ("STATE", "QUEUE:STATE", "QUEUE", "JOB:ID", "HISTORY")}


def refused(ioc, suffix, value, message) -> str:
    """Put ``value``: the put must fail with ``message``, shown in P:ERROR, changing nothing."""
    before = snapshot(ioc)
    error_before = get(ioc.pv("ERROR"))
    with pytest.raises(ErrorResponseReceived) as excinfo:
        put_checked(ioc.pv(suffix), value)
    words = refusal(excinfo)
    assert message in words, words
    # ERROR must show THIS refusal: a test refusing the same thing twice in a row would
    # find the words of the first one there and prove nothing about the second
    assert error_before != f"{suffix}: {words}", f"refused twice in a row: {words}"
    assert get(ioc.pv("ERROR")) == f"{suffix}: {words}"
    assert snapshot(ioc) == before
    return words


def gate_job(gate: Path, name="gated") -> dict:
    """A black-box script (no job API) that runs until ``gate`` exists."""
    return {"name": name, "script": (
        f"import os, time\nwhile not os.path.exists({str(gate)!r}):\n    time.sleep(0.01)\n")}


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


class StateMonitor:
    """camonitor P:STATE: every value the IOC posts, in order."""

    def __init__(self, ioc):
        self.seen: list[str] = []
        self.pv = epics.PV(ioc.pv("STATE"), auto_monitor=True, form="ctrl",
                           callback=lambda char_value=None, **kw: self.seen.append(char_value))
        wait_for(lambda: self.pv.connected and self.seen, what="P:STATE monitor")

    def saw(self, *sequence: str, timeout=10) -> None:
        def found():
            it = iter(self.seen)
            return all(s in it for s in sequence)        # in order, gaps allowed
        wait_for(found, timeout=timeout, what=f"monitor to see {sequence}, saw {self.seen}")

    def close(self) -> None:
        self.pv.disconnect()


# -- queue editing --------------------------------------------------------------------

def test_the_queue_can_be_edited_while_a_job_runs_but_not_the_running_job(ioc, tmp_path):
    gate = tmp_path / "gate"
    (running,) = add(ioc, gate_job(gate))
    a, b, c, d = add(ioc, [{"script": f"print('{n}')", "name": n} for n in "abcd"])
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: get_value(ioc.pv("JOB:ID")) == running, what="the gated job to run")
    assert ids(ioc) == [a, b, c, d]

    # MOVE: to a position, before or after another job
    put_checked(ioc.pv("QUEUE:MOVE"), {"id": d, "pos": 0})
    assert ids(ioc) == [d, a, b, c]
    put_checked(ioc.pv("QUEUE:MOVE"), {"id": a, "after": c})
    assert ids(ioc) == [d, b, c, a]
    put_checked(ioc.pv("QUEUE:MOVE"), {"id": b, "before": d})
    assert ids(ioc) == [b, d, c, a]
    put_checked(ioc.pv("QUEUE:MOVE"), {"id": b, "pos": "back"})
    assert ids(ioc) == [d, c, a, b]

    # the running job cannot be moved, edited, removed or skipped
    refused(ioc, "QUEUE:MOVE", {"id": running, "pos": 0},
            f"job {running} is running and cannot be moved")
    refused(ioc, "QUEUE:EDIT", {"id": running, "job": {"script": "pass"}},
            f"job {running} is running and cannot be edited; abort it first")
    refused(ioc, "QUEUE:REMOVE", str(running), f"job {running} is running and cannot be removed")
    refused(ioc, "QUEUE:SKIP", str(running), f"job {running} is running and cannot be skipped")
    # unknown ids and malformed requests
    refused(ioc, "QUEUE:MOVE", {"id": 999, "pos": 0}, "no queued job has id 999")
    refused(ioc, "QUEUE:MOVE", {"id": a, "pos": 9}, "outside the queue")
    refused(ioc, "QUEUE:MOVE", {"id": a, "before": 999}, "no queued job has id 999")
    refused(ioc, "QUEUE:MOVE", {"id": a}, 'one of "pos", "before" or "after"')
    refused(ioc, "QUEUE:REMOVE", [a, 999], "no queued job has id 999")       # all or nothing
    refused(ioc, "QUEUE:SKIP", "999", "no queued job has id 999")
    refused(ioc, "QUEUE:REPEAT", {"id": 999, "times": 2}, "no queued job has id 999")
    refused(ioc, "QUEUE:REPEAT", {"id": a, "times": 0}, '"times" must be a whole number')
    refused(ioc, "QUEUE:EDIT", {"id": 999, "job": {"script": "pass"}}, "no queued job has id 999")
    refused(ioc, "QUEUE:GET", "999", "no job has id 999")

    # EDIT: replaces the job, keeps its id and place, validated like a new job
    refused(ioc, "QUEUE:EDIT", {"id": c, "job": {"command": "wiat", "args": {"seconds": 1}}},
            "did you mean 'wait'")
    refused(ioc, "QUEUE:EDIT", {"id": c, "job": {"script": "for x in\n"}},
            "syntax error at line 1")
    refused(ioc, "QUEUE:EDIT", {"id": c, "job": {"command": "wait", "args": {"seconds": -1}}},
            "seconds")
    put_checked(ioc.pv("QUEUE:EDIT"), {"id": c, "job": {"command": "wait", "args": {"seconds": 0.1}}})
    queue = get_json(ioc.pv("QUEUE"))
    assert [j["id"] for j in queue] == [d, c, a, b]
    assert queue[1]["job"] == {"command": "wait", "args": {"seconds": 0.1}}
    assert queue[1]["name"] == "wait(seconds=0.1)"

    # REPEAT: copies with new ids right after the original
    put_checked(ioc.pv("QUEUE:REPEAT"), {"id": c, "times": 2})
    now = ids(ioc)
    assert now[:2] == [d, c] and now[4:] == [a, b]
    copies = now[2:4]
    assert min(copies) > max(running, a, b, c, d) and len(set(copies)) == 2
    assert [j["job"] for j in get_json(ioc.pv("QUEUE"))[1:4]] == [queue[1]["job"]] * 3

    # the running job can be repeated: its copy goes to the head of the queue
    put_checked(ioc.pv("QUEUE:REPEAT"), {"id": running, "times": 1})
    (again,) = ids(ioc)[:1]
    assert again not in (d, c, *copies, a, b) and ids(ioc)[1:] == [d, c, *copies, a, b]
    assert get_json(ioc.pv("QUEUE"))[0]["job"] == gate_job(gate)
    put_checked(ioc.pv("QUEUE:REMOVE"), str(again))

    # SKIP: the next job, or a given one; both recorded in history as skipped
    put_checked(ioc.pv("QUEUE:SKIP"), "next")
    assert ids(ioc) == [c, *copies, a, b]
    put_checked(ioc.pv("QUEUE:SKIP"), str(a))
    assert ids(ioc) == [c, *copies, b]
    skipped = [(r["id"], r["status"]) for r in history(ioc)]
    assert skipped == [(a, "skipped"), (d, "skipped")]

    # REMOVE: one id, or a list of ids
    put_checked(ioc.pv("QUEUE:REMOVE"), str(copies[0]))
    put_checked(ioc.pv("QUEUE:REMOVE"), [copies[1], b])
    assert ids(ioc) == [c]

    # GET: a queued, a historical and the running job, in full
    got = record(ioc, c)
    assert got["where"] == "queue" and got["job"] == queue[1]["job"] and got["runs"] == []
    got = record(ioc, d)
    assert got["where"] == "history" and got["job"] == {"script": "print('d')", "name": "d"}
    assert [r["status"] for r in got["runs"]] == ["skipped"]
    assert record(ioc, running)["where"] == "running"

    # the running job was never disturbed; it finishes, then the queue carries on
    assert state(ioc) == "RUNNING" and get_value(ioc.pv("JOB:ID")) == running
    gate.touch()
    ended(ioc, running)
    ended(ioc, c)
    wait_for(lambda: get(ioc.pv("QUEUE:STATE")) == "STOPPED" and ids(ioc) == [],
             what="the queue to run out and stop")


def test_past_jobs_can_be_requeued_as_they_were_or_edited(ioc):
    put_checked(ioc.pv("QUEUE:MODE"), "CONTINUE_ON_FAILURE", enum=True)
    good, bad = add(ioc, [{"script": "print('good')", "name": "good"},
                          {"script": "1/0", "name": "bad"}])
    put_checked(ioc.pv("QUEUE:START"), 1)
    ended(ioc, good)
    ended(ioc, bad, "failed")
    put_checked(ioc.pv("QUEUE:STOP"), 1)
    wait_for(lambda: get(ioc.pv("QUEUE:STATE")) == "STOPPED")

    put_checked(ioc.pv("QUEUE:REQUEUE"), str(good))
    (copy,) = map(int, get_value(ioc.pv("QUEUE:ADD:IDS")))
    put_checked(ioc.pv("QUEUE:REQUEUE"), {"id": bad, "job": {"script": "print(1/1)", "name": "fixed"},
                                  "pos": "front"})
    (fixed,) = map(int, get_value(ioc.pv("QUEUE:ADD:IDS")))
    assert ids(ioc) == [fixed, copy] and copy > bad and fixed > copy
    queue = get_json(ioc.pv("QUEUE"))
    assert queue[0]["job"] == {"script": "print(1/1)", "name": "fixed"}
    assert queue[1]["job"] == {"script": "print('good')", "name": "good"}
    # the failed run's description, to edit and re-submit
    got = record(ioc, bad)
    assert got["where"] == "history" and got["runs"][0]["status"] == "failed"
    assert "ZeroDivisionError" in got["runs"][0]["error"]

    refused(ioc, "QUEUE:REQUEUE", "999", "no job has id 999")
    refused(ioc, "QUEUE:REQUEUE", {"id": good, "job": {"script": "for x in\n"}},
            "syntax error at line 1")
    refused(ioc, "QUEUE:REQUEUE", {"id": good, "colour": "red"}, "unknown key(s) colour")

    put_checked(ioc.pv("QUEUE:START"), 1)
    ended(ioc, fixed)
    ended(ioc, copy)
    assert record(ioc, copy)["runs"][0]["output"] == "good\n"


# -- abort ---------------------------------------------------------------------------

CHILD = """\
import os, subprocess, sys, time
out = sys.argv[1]
subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "grandchild.py"), out])
open(os.path.join(out, "pid-child"), "w").write(str(os.getpid()))
time.sleep(60)
"""
GRANDCHILD = """\
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)    # only SIGKILL will do
open(os.path.join(sys.argv[1], "pid-grandchild"), "w").write(str(os.getpid()))
time.sleep(60)
"""


def spawner_job(out: Path) -> dict:
    """Starts a `sleep 60`, a python child and a python grandchild, then runs until aborted.

    Run a second time, it finishes at once: the test can see it started from the beginning.
    """
    (out / "child.py").write_text(CHILD)
    (out / "grandchild.py").write_text(GRANDCHILD)
    return {"name": "spawner", "script": f"""\
import os, subprocess, sys, time
out = {str(out)!r}
with open(os.path.join(out, "starts"), "a") as f:
    f.write("start\\n")
if open(os.path.join(out, "starts")).read().count("start") == 1:
    sleeper = subprocess.Popen(["sleep", "60"])
    child = subprocess.Popen([sys.executable, os.path.join(out, "child.py"), out])
    open(os.path.join(out, "pids.json"), "w").write(
        '{{"pgid": %d, "job": %d, "sleep": %d, "child": %d}}'
        % (os.getpgid(0), os.getpid(), sleeper.pid, child.pid))
    try:
        while True:
            time.sleep(0.01)
    finally:
        open(os.path.join(out, "cleanup"), "w").write("instrument left safe")
print("second run: done")
"""}


def test_abort_kills_the_whole_process_group_and_requeues_the_job_at_the_head(ioc, tmp_path):
    out = tmp_path / "spawner"
    out.mkdir()
    job, after = add(ioc, [spawner_job(out), {"script": "print('after')", "name": "after"}])
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: (out / "pids.json").exists() and (out / "pid-grandchild").exists()
             and (out / "pid-child").exists(), what="the job's children to start")
    pids = json.loads((out / "pids.json").read_text())
    pids["grandchild"] = int((out / "pid-grandchild").read_text())
    assert pids["pgid"] == pids["job"] != ioc.process.pid
    assert all(not process_gone(pid) for pid in pids.values())
    assert os.getpgid(pids["grandchild"]) == pids["pgid"]

    put_checked(ioc.pv("JOB:ABORT"), 1)
    run = ended(ioc, job, "aborted")
    # the grandchild ignores SIGTERM: the SIGKILL of the group, once the job itself has
    # ended, removed it; the job is reported ended only when its whole group is gone
    assert group_gone(pids["pgid"])
    assert all(process_gone(pid) for pid in pids.values()), pids
    assert (out / "cleanup").read_text() == "instrument left safe"      # finally: ran
    assert run["error"]

    # back at the head of the queue, the queue stopped, nothing running
    assert ids(ioc) == [job, after]
    assert get(ioc.pv("QUEUE:STATE")) == "STOPPED" and state(ioc) == "IDLE"
    assert get_value(ioc.pv("JOB:ID")) == 0
    # ... and editable: it keeps its id
    edited = dict(spawner_job(out), name="spawner, again")
    put_checked(ioc.pv("QUEUE:EDIT"), {"id": job, "job": edited})
    assert get_json(ioc.pv("QUEUE"))[0]["name"] == "spawner, again"

    # run again, it starts from the beginning
    put_checked(ioc.pv("QUEUE:START"), 1)
    ended(ioc, job)
    ended(ioc, after)
    assert (out / "starts").read_text() == "start\nstart\n"
    runs = record(ioc, job)["runs"]
    assert [r["status"] for r in runs] == ["aborted", "finished"]
    assert runs[1]["output"] == "second run: done\n"


def test_a_job_that_ignores_sigterm_is_killed_when_the_grace_is_over(make_ioc, tmp_path):
    # a grace long enough to see the job live on through it on a busy machine
    ioc = make_ioc(extra_config="abort_grace: 4.0\n").start()
    pid_file = tmp_path / "pid"
    beat = tmp_path / "beat"
    (job,) = add(ioc, {"name": "stubborn", "script": f"""\
import os, signal, subprocess, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen(["sleep", "60"])            # inherits the ignored SIGTERM
open({str(pid_file)!r}, "w").write("%d %d" % (os.getpid(), child.pid))
while True:
    with open({str(beat)!r} + ".tmp", "w") as f:
        f.write(repr(time.monotonic()))
    os.replace({str(beat)!r} + ".tmp", {str(beat)!r})
    time.sleep(0.01)
"""})
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: pid_file.exists() and pid_file.read_text(), what="the job to start")
    job_pid, child_pid = map(int, pid_file.read_text().split())

    def beating_since(moment: float) -> bool:
        return beat.exists() and float(beat.read_text() or 0) > moment

    put_checked(ioc.pv("JOB:ABORT"), 1)                  # SIGTERM is sent before it completes
    terminated = time.monotonic()
    # the job lives on after SIGTERM, in ABORTING: the grace is given (and the put did not
    # wait for it to end) ...
    wait_for(lambda: beating_since(terminated), what="the job to live on after SIGTERM")
    assert state(ioc) == "ABORTING" and not process_gone(job_pid)
    # ... then SIGKILL ends it, with everything it started
    run = ended(ioc, job, "aborted", timeout=10)
    assert "SIGKILL" in run["error"]
    assert group_gone(job_pid) and process_gone(job_pid) and process_gone(child_pid)
    assert ids(ioc) == [job] and state(ioc) == "IDLE"
    # an aborted job can also be re-queued from history, as a copy, with edits
    put_checked(ioc.pv("QUEUE:REQUEUE"), {"id": job, "job": {"script": "print('tamed')"}})
    (copy,) = map(int, get_value(ioc.pv("QUEUE:ADD:IDS")))
    assert ids(ioc) == [job, copy]
    assert get_json(ioc.pv("QUEUE"))[1]["job"] == {"script": "print('tamed')"}


def test_abort_of_a_paused_job_runs_its_cleanup(ioc, tmp_path):
    cleanup = tmp_path / "cleanup"
    gate = tmp_path / "gate"
    inside = tmp_path / "inside"
    (job,) = add(ioc, {"script": f"""\
import os, time
try:
    open({str(inside)!r}, "w").close()
    while not os.path.exists({str(gate)!r}):
        time.sleep(0.01)
finally:
    open({str(cleanup)!r}, "w").write("safe")
"""})
    put_checked(ioc.pv("QUEUE:START"), 1)
    # paused before its try: (a busy machine can be that slow), it would rightly have no
    # cleanup to run; wait until it is inside
    wait_for(inside.exists, what="the job to be inside its try:")
    put_checked(ioc.pv("JOB:PAUSE:NOW"), 1)
    wait_state(ioc, "PAUSED")
    put_checked(ioc.pv("JOB:ABORT"), 1)
    ended(ioc, job, "aborted")
    assert cleanup.read_text() == "safe"
    assert ids(ioc) == [job] and state(ioc) == "IDLE"
    assert get(ioc.pv("QUEUE:STATE")) == "STOPPED"


# -- pause ---------------------------------------------------------------------------

def counter_job(out: Path) -> dict:
    """A busy pure-Python loop (black box: no job API) counting into a file until told to stop."""
    return {"name": "counter", "script": f"""\
import os
out = {str(out)!r}
with open(os.path.join(out, "starts"), "a") as f:
    f.write("start\\n")
i = 0
while not os.path.exists(os.path.join(out, "stop")):
    i += 1
    if i % 20000 == 0:
        with open(os.path.join(out, "count.tmp"), "w") as f:
            f.write(str(i))
        os.replace(os.path.join(out, "count.tmp"), os.path.join(out, "count"))
print("counted to", i)
"""}


def test_pause_now_holds_a_busy_loop_and_only_resume_or_abort_are_accepted(ioc, tmp_path):
    out = tmp_path / "counter"
    out.mkdir()
    count = out / "count"

    def counted() -> int:
        return int(count.read_text()) if count.exists() else 0

    monitor = StateMonitor(ioc)
    (job,) = add(ioc, counter_job(out))
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: counted() > 0, what="the loop to count")
    assert ids(ioc) == [] and get_json(ioc.pv("JOB"))["pausable"] is False

    # a black box has no pause points: deferred pause is refused, pause-now works
    refused(ioc, "JOB:PAUSE", 1, f"job {job} has no pause points")
    assert "JOB:PAUSE:NOW" in get(ioc.pv("ERROR"))
    refused(ioc, "JOB:RESUME", 1, "the job is running, not paused")
    put_checked(ioc.pv("JOB:PAUSE:NOW"), 1)
    monitor.saw("RUNNING", "PAUSING", "PAUSED")
    frozen = counted()
    paused_for_a_while(ioc)
    assert counted() == frozen, "the loop kept counting while PAUSED"

    # while paused: no other job runs, the queue cannot start, pausing again is refused
    refused(ioc, "QUEUE:START", 1, "the queue is paused: resume (JOB:RESUME) or abort the "
            "paused job (JOB:ABORT) before starting the queue")
    refused(ioc, "JOB:PAUSE", 1, "the job is already paused")
    refused(ioc, "JOB:PAUSE:NOW", 1, "the job is already paused")
    x, y = add(ioc, [{"script": "print('x')", "name": "x"}, {"script": "print('y')", "name": "y"}])
    assert state(ioc) == "PAUSED" and get_value(ioc.pv("JOB:ID")) == job   # added, not started
    # ... but the queue can still be edited
    put_checked(ioc.pv("QUEUE:MOVE"), {"id": y, "pos": 0})
    put_checked(ioc.pv("QUEUE:REPEAT"), {"id": x, "times": 1})
    (x2,) = ids(ioc)[2:]
    put_checked(ioc.pv("QUEUE:EDIT"), {"id": x2, "job": {"script": "print('x2')", "name": "x2"}})
    put_checked(ioc.pv("QUEUE:REMOVE"), str(y))
    put_checked(ioc.pv("QUEUE:SKIP"), str(x))
    assert ids(ioc) == [x2] and state(ioc) == "PAUSED"
    assert counted() == frozen

    # resume continues where it was: same run, the counter goes on from where it stopped
    put_checked(ioc.pv("JOB:RESUME"), 1)
    monitor.saw("PAUSING", "PAUSED", "RUNNING")
    wait_for(lambda: counted() > frozen, what="the loop to count on")
    (out / "stop").touch()
    ended(ioc, job)
    ended(ioc, x2)
    assert (out / "starts").read_text() == "start\n"
    monitor.saw("PAUSING", "PAUSED", "RUNNING", "IDLE")
    assert "PAUSING" not in monitor.seen[monitor.seen.index("PAUSED"):]   # one pause only
    monitor.close()


def test_pause_now_waits_for_a_c_call_and_a_resume_meanwhile_cancels_it(ioc, tmp_path):
    in_c_call = tmp_path / "in-c-call"
    (job,) = add(ioc, {"name": "c call", "script": f"""\
import hashlib
open({str(in_c_call)!r}, "w").write("x")
hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 3_000_000)    # ~1 s in C, never back in Python
print("after the C call")
"""})
    monitor = StateMonitor(ioc)
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(in_c_call.exists, what="the C call to start")
    put_checked(ioc.pv("JOB:PAUSE:NOW"), 1)
    assert state(ioc) == "PAUSING"          # the signal waits for the C call to return
    put_checked(ioc.pv("JOB:RESUME"), 1)            # changed my mind while it waited
    assert state(ioc) == "RUNNING"
    ended(ioc, job)
    assert record(ioc, job)["runs"][0]["output"] == "after the C call\n"
    monitor.saw("RUNNING", "PAUSING", "RUNNING", "IDLE")
    assert "PAUSED" not in monitor.seen       # the cancelled pause never happened
    monitor.close()


def test_deferred_pause_of_a_command_job_waits_for_its_pause_point(ioc):
    monitor = StateMonitor(ioc)
    (job,) = add(ioc, {"command": "wait", "args": {"seconds": 1.0}})
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: get_value(ioc.pv("JOB:PROGRESS")) > 10, what="progress")
    put_checked(ioc.pv("JOB:PAUSE"), 1)
    monitor.saw("RUNNING", "PAUSING", "PAUSED")
    progress = get_value(ioc.pv("JOB:PROGRESS"))
    assert progress < 100
    refused(ioc, "JOB:PAUSE", 1, "the job is already paused")
    refused(ioc, "QUEUE:START", 1, "the queue is paused")
    paused_for_a_while(ioc)
    assert get_value(ioc.pv("JOB:PROGRESS")) == progress
    put_checked(ioc.pv("JOB:RESUME"), 1)
    run = ended(ioc, job)
    # the time spent paused is recorded beside the duration, not in it
    assert run["paused"] > 0, run
    assert run["duration"] == pytest.approx(run["end"] - run["start"] - run["paused"], abs=0.01)
    monitor.saw("PAUSING", "PAUSED", "RUNNING", "IDLE")
    monitor.close()


def test_a_pause_asked_for_but_not_yet_reached_can_be_cancelled_by_resume(ioc, tmp_path):
    gate = tmp_path / "gate"
    (job,) = add(ioc, {"script": f"""\
import os, time
from scriptserver.jobs.api import pause_point
while not os.path.exists({str(gate)!r}):
    time.sleep(0.01)
pause_point()
"""})
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_state(ioc, "RUNNING")
    put_checked(ioc.pv("JOB:PAUSE"), 1)
    assert state(ioc) == "PAUSING"
    refused(ioc, "JOB:PAUSE", 1, "a pause is already on its way")
    put_checked(ioc.pv("JOB:RESUME"), 1)                     # changed my mind
    assert state(ioc) == "RUNNING"
    gate.touch()
    ended(ioc, job)                                   # went through its pause point


def test_resume_restores_nothing_a_user_changed_while_paused(ioc, tmp_path):
    beamline = tmp_path / "temperature"
    (job,) = add(ioc, {"name": "aware", "script": f"""\
import time
from pathlib import Path
temperature = Path({str(beamline)!r})
temperature.write_text("10")            # the job sets the sample temperature
while temperature.read_text() == "10":
    # pause
    time.sleep(0.01)
print("temperature after resume:", temperature.read_text())
"""})
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: beamline.exists() and beamline.read_text() == "10")
    assert get_json(ioc.pv("JOB"))["pausable"] is True       # a '# pause' line is a pause point
    put_checked(ioc.pv("JOB:PAUSE"), 1)
    wait_state(ioc, "PAUSED")
    beamline.write_text("300")                     # the user warms the sample while paused
    put_checked(ioc.pv("JOB:RESUME"), 1)
    ended(ioc, job)
    assert record(ioc, job)["runs"][0]["output"] == "temperature after resume: 300\n"
    assert beamline.read_text() == "300"


# -- refusals with nothing running -------------------------------------------------------

def test_control_with_no_job_running_is_refused_with_a_reason(ioc):
    (queued,) = add(ioc, {"script": "pass", "name": "waiting"})
    for suffix, message in [
            ("JOB:PAUSE", "cannot pause: no job is running, so there is nothing to pause"),
            ("JOB:PAUSE:NOW", "cannot pause now: no job is running"),
            ("JOB:RESUME", "cannot resume: nothing is paused, so there is nothing to resume"),
            ("JOB:ABORT", "cannot abort: no job is running")]:
        refused(ioc, suffix, 1, message)
    assert ids(ioc) == [queued] and state(ioc) == "IDLE"
    assert get(ioc.pv("QUEUE:STATE")) == "STOPPED"


def test_no_job_process_is_left_after_the_ioc_stops(ioc, tmp_path):
    pid_file = tmp_path / "pids"
    add(ioc, {"script": f"""\
import os, subprocess, time
child = subprocess.Popen(["sleep", "60"])
open({str(pid_file)!r}, "w").write("%d %d" % (os.getpid(), child.pid))
time.sleep(60)
"""})
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: pid_file.exists() and pid_file.read_text(), what="the job to start")
    job_pid, child_pid = map(int, pid_file.read_text().split())
    ioc.stop()
    # the job would sleep 60 s if left behind: the bound tells "killed" from "left", not speed
    wait_for(lambda: group_gone(job_pid), timeout=20, what="the job's process group to go")
    assert process_gone(job_pid) and process_gone(child_pid)


# -- the runner on its own: requests that arrive before the job process exists ----------

EARLY_ABORT = """
import asyncio, os, sys
from scriptserver.runner.runner import JobRunner

async def main():
    events = []
    runner = JobRunner([], lambda kind, data: events.append((kind, data)), abort_grace=1.0)
    await runner.start()
    payload = {"job": {"id": 1, "kind": "script", "job": {"script": (
        "open(%r, 'a').write('ran')\\nimport time\\ntime.sleep(5)\\n" % sys.argv[1])}},
        "command_folders": []}
    for delay in (None, 0.0, 0.0, 0.0005, 0.001, 0.002):
        events.clear()
        task = asyncio.ensure_future(runner.launch(1, payload))
        if delay is not None:
            await asyncio.sleep(delay)      # 0: the fork is under way, its pid not yet known
        runner.abort()
        await asyncio.wait_for(task, 4)     # well before the job's 5 s sleep is over
        (outcome,) = [data for kind, data in events if kind == "ended"]
        ran = os.path.exists(sys.argv[1]) and os.remove(sys.argv[1]) is None
        ended = "ended" if outcome["status"] != "finished" else "finished"
        print(ended, outcome["output"] == "", "ran" if ran else "never ran", flush=True)
    runner.stop_launching("the server is stopping")
    events.clear()
    await asyncio.wait_for(runner.launch(1, payload), 4)
    (outcome,) = [data for kind, data in events if kind == "ended"]
    ran = os.path.exists(sys.argv[1]) and os.remove(sys.argv[1]) is None
    print("ended" if outcome["status"] != "finished" else "finished", outcome["output"] == "",
          "ran" if ran else "never ran", flush=True)
    await runner.close()

asyncio.run(main())
"""


def test_an_abort_before_the_job_has_forked_stops_it_and_nothing_else(tmp_path):
    """An abort must never become killpg(0), which would kill the IOC's own process group."""
    import subprocess
    marker = tmp_path / "ran"
    done = subprocess.run([sys.executable, "-c", EARLY_ABORT, str(marker)], capture_output=True,
                          text=True, timeout=60, start_new_session=True)
    assert done.returncode == 0, done.stderr           # -15: it killed its own group
    lines = done.stdout.splitlines()
    assert len(lines) == 7 and all(line.startswith("ended True") for line in lines), lines
    # A launch sends the job to its process at once (it starts while the IOC publishes the
    # start): an abort after it aborts a job that may have run its first lines. A launch
    # while the server is stopping never starts it.
    assert lines[-1] == "ended True never ran", lines
