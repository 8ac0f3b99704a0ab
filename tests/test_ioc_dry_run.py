"""Issue 12 end to end: VALIDATE finds every problem, dry-runs on a simulated clock,
main(**params) scripts, phases over CA, pausable commands. Real IOC, real CA clients."""
import json

import pytest
from caproto import ErrorResponseReceived

from ca import get, get_json, put, put_checked, read, refusal
from conftest import write, wait_for


def validated(ioc, value, timeout=30):
    """Put VALIDATE and wait for the finished verdict."""
    before = get(ioc.pv("VALIDATE:RESULT"))
    put_checked(ioc.pv("VALIDATE"), value if isinstance(value, str) else json.dumps(value))

    def done():
        text = get(ioc.pv("VALIDATE:RESULT"))
        result = json.loads(text) if text and text != before else None
        return result if result and result["finished"] else None
    return wait_for(done, timeout=timeout, what="VALIDATE:RESULT to finish")


THREE_MISTAKES = "x = 1\nset_e(energy=25)\ncount(seconds=-5)\nprint(y)\n"


def test_validate_reports_every_mistake_of_a_script_with_its_line(ioc):
    result = validated(ioc, {"script": THREE_MISTAKES})
    assert result["valid"] is False
    lines = {p["line"]: p["text"] for p in result["problems"]}
    assert lines == {
        2: "unknown command 'set_e'; did you mean 'set_ei'?",
        3: "count: seconds must be between 0 and 86400 s, not -5",
        4: "undefined name 'y'"}
    assert result["jobs"][0]["dry_run"]["status"] == "not run"
    # queueing refuses it, naming all three
    with pytest.raises(ErrorResponseReceived) as refused:
        put_checked(ioc.pv("QUEUE:ADD"), json.dumps({"script": THREE_MISTAKES}))
    words = refusal(refused)
    assert "line 2: unknown command 'set_e'" in words and "line 3: count" in words \
        and "line 4: undefined name 'y'" in words
    assert get_json(ioc.pv("QUEUE")) == []


def test_a_two_hour_queue_dry_runs_in_seconds_with_its_estimate(ioc):
    jobs = [{"command": "wait", "args": {"seconds": 3600}},
            {"command": "count", "args": {"seconds": 2400, "detectors": ["main"]}},
            {"command": "set_ei", "args": {"energy": 400}},
            {"command": "move", "args": {"axis": "sample_y", "position": 40}},
            {"command": "do_run", "args": {"temperature": 10, "uamps": 1000}},
            {"script": "from scriptserver.jobs.api import is_dry_run\nimport time\n"
                       "print('dry' if is_dry_run() else 'real')\ntime.sleep(300)\nwait(60)\n"}]
    put_checked(ioc.pv("QUEUE:ADD"), json.dumps(jobs))
    queued = wait_for(lambda: all(j["estimate"] is not None
                                  for j in get_json(ioc.pv("QUEUE"))[:5]) and
                      get_json(ioc.pv("QUEUE")))
    expected = sum(j["estimate"] for j in queued[:5]) + 360
    assert expected > 6500                                 # about two hours
    result = validated(ioc, "queue")
    assert result["valid"] is True, result["problems"]
    runs = [j["dry_run"] for j in result["jobs"]]
    assert [r["status"] for r in runs] == ["finished"] * 6
    assert runs[5]["output"].startswith("dry")              # is_dry_run() was True
    assert abs(result["dry_run_seconds"] - expected) < 0.05 * expected
    assert abs(result["estimate"] - expected) < 0.05 * expected
    assert get_json(ioc.pv("HISTORY")) == [] and get(ioc.pv("STATE")) == "IDLE"
    assert len(get_json(ioc.pv("QUEUE"))) == 6             # nothing ran, nothing moved


def test_a_command_without_dry_run_support_is_reported_and_not_run(make_ioc, tmp_path):
    folder = tmp_path / "commands"
    marker = tmp_path / "moved"
    write(folder, "hardware.py", f'''
        from pathlib import Path

        def open_shutter():
            """Opens the shutter for real."""
            Path("{marker}").write_text("opened")
        ''')
    ioc = make_ioc(commands=folder).start()
    result = validated(ioc, [{"command": "open_shutter"},
                             {"script": "from scriptserver.jobs.api import is_dry_run\n"
                                        "is_dry_run()\nopen_shutter()\n"}])
    first, second = (j["dry_run"] for j in result["jobs"])
    assert first["status"] == "not simulated"
    assert second["status"] == "finished" and second["not_simulated"] == ["open_shutter"]
    assert not marker.exists()
    commands = get_json(ioc.pv("COMMANDS"))
    assert commands[0]["simulated"] is False and commands[0]["pausable"] is False


def test_validate_a_queued_job_by_id_and_ibex_parameters_valid(ioc):
    with pytest.raises(ErrorResponseReceived) as refused:
        put_checked(ioc.pv("QUEUE:ADD"), json.dumps(
            {"command": "do_run", "args": {"temperature": 1000}}))
    assert "do_run: temperature must be between 1.5 and 400 K, not 1000" in refusal(refused)
    with pytest.raises(ErrorResponseReceived) as refused:
        put_checked(ioc.pv("QUEUE:ADD"), json.dumps({"script": "do_run(field=9)\n"}))
    assert "line 1: do_run: field must be within +/-7 T, not 9" in refusal(refused)
    result = validated(ioc, [{"command": "do_run", "args": {"temperature": 1000}},
                             {"command": "do_run", "args": {"temperature": 10}}])
    assert result["valid"] is False and [(p["job"], p["text"]) for p in result["problems"]] == \
        [(1, "do_run: temperature must be between 1.5 and 400 K, not 1000")]
    assert [j["dry_run"]["status"] for j in result["jobs"]] == ["not run", "finished"]
    put_checked(ioc.pv("QUEUE:ADD"), json.dumps({"command": "wait", "args": {"seconds": 30}}))
    (job_id,) = wait_for(lambda: get_json(ioc.pv("QUEUE")) and
                         [j["id"] for j in get_json(ioc.pv("QUEUE"))])
    result = validated(ioc, str(job_id))
    assert result["valid"] and result["jobs"][0]["id"] == job_id
    assert result["jobs"][0]["dry_run"]["seconds"] == pytest.approx(30, rel=0.05)


MAIN_SCRIPT = '''\
from typing import Annotated

def main(energy: Annotated[float, "meV", (0.5, 800)], repeats: int = 1):
    for _ in range(repeats):
        print("energy", energy)
'''


def test_a_script_with_main_is_checked_like_a_command_and_run_with_its_params(ioc):
    with pytest.raises(ErrorResponseReceived) as refused:
        put_checked(ioc.pv("QUEUE:ADD"), json.dumps(
            {"script": MAIN_SCRIPT, "params": {"energy": 5000, "repeat": 2}}))
    words = refusal(refused)
    assert "main: energy must be between 0.5 and 800 meV, not 5000" in words
    assert "unexpected argument 'repeat'; did you mean 'repeats'?" in words
    put_checked(ioc.pv("QUEUE:ADD"), json.dumps(
        {"script": MAIN_SCRIPT, "params": {"energy": 25, "repeats": 2}}))
    put(ioc.pv("QUEUE:START"), 1)
    run = wait_for(lambda: (get_json(ioc.pv("HISTORY")) or [None])[0])
    assert run["status"] == "finished"
    job_id = run["id"]
    put(ioc.pv("QUEUE:GET"), str(job_id))
    record = wait_for(lambda: get_json(ioc.pv("QUEUE:GET:RESULT")))
    assert record["runs"][-1]["output"].count("energy 25.0") == 2


PHASED = '''\
import time
from scriptserver.jobs.api import phase, plan_phases
plan_phases(("prepare", 0.2), ("measure", 1000))
with phase("prepare"):
    time.sleep(0.2)
with phase("measure"):
    time.sleep(1000)
'''


def test_phases_are_shown_over_ca_and_drive_the_remaining_time(ioc):
    put_checked(ioc.pv("QUEUE:ADD"), json.dumps({"script": PHASED}))
    put(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: get(ioc.pv("JOB:PHASE")) == "measure", what="the measure phase")
    phases = get_json(ioc.pv("JOB:PHASES"))
    assert [(p["name"], p["state"]) for p in phases] == [("prepare", "finished"),
                                                          ("measure", "running")]
    assert phases[1]["expected"] == 1000
    remaining = read(ioc.pv("JOB:REMAINING"))[0]            # caproto's client
    assert 900 < remaining <= 1000
    put(ioc.pv("JOB:ABORT"), 1)
    wait_for(lambda: get(ioc.pv("STATE")) == "IDLE")


def test_a_command_without_pause_points_refuses_a_deferred_pause(make_ioc, tmp_path):
    folder = tmp_path / "commands"
    write(folder, "slow.py", '''
        import time

        def snooze(seconds: float = 30):
            """Sleeps; mentions pause_point() only here."""
            time.sleep(seconds)   # pause_point() is not called
        ''')
    ioc = make_ioc(commands=folder).start()
    assert get_json(ioc.pv("COMMANDS"))[0]["pausable"] is False
    put_checked(ioc.pv("QUEUE:ADD"), json.dumps({"command": "snooze"}))
    put(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: get(ioc.pv("STATE")) == "RUNNING")
    assert get_json(ioc.pv("JOB"))["pausable"] is False
    with pytest.raises(ErrorResponseReceived) as refused:
        put_checked(ioc.pv("JOB:PAUSE"), 1)
    assert "has no pause points" in refusal(refused) and "JOB:PAUSE:NOW" in refusal(refused)
    put(ioc.pv("JOB:ABORT"), 1)
    wait_for(lambda: get(ioc.pv("STATE")) == "IDLE")


def test_a_script_is_checked_again_just_before_it_runs(make_ioc, tmp_path):
    folder = tmp_path / "commands"
    marker = tmp_path / "ran"
    shutter = write(folder, "shutter.py", '''
        def open_shutter():
            """Opens the shutter."""
        ''')
    ioc = make_ioc(commands=folder).start()
    put_checked(ioc.pv("QUEUE:ADD"), json.dumps(
        {"script": f"open('{marker}', 'w').close()\nopen_shutter()\n"}))
    shutter.write_text('def close_shutter():\n    """Closes it."""\n')
    wait_for(lambda: get_json(ioc.pv("COMMANDS:NAMES")) == ["close_shutter"])
    put(ioc.pv("QUEUE:START"), 1)
    run = wait_for(lambda: (get_json(ioc.pv("HISTORY")) or [None])[0])
    assert run["status"] == "failed"
    assert "line 2: unknown command 'open_shutter'; did you mean 'close_shutter'?" in run["error"]
    assert not marker.exists()                       # refused before any of it ran
