"""The ``scriptserver`` command-line client, run as an installed console script against a real IOC."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ca import get, get_value, put, put_checked
from conftest import IOC, wait_for

SCRIPTSERVER = shutil.which("scriptserver", path=str(Path(sys.executable).parent))


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One IOC for this module (each test starts with an empty queue and no job)."""
    server = IOC(tmp_path_factory.mktemp("cli")).start()
    yield server
    server.stop()


@pytest.fixture
def ioc(shared):
    put_checked(shared.pv("QUEUE:CLEAR"), 1)
    wait_for(lambda: get(shared.pv("STATE")) == "IDLE", what="no job running")
    return shared


def cli(ioc, *words, check=True):
    """Run ``scriptserver ...`` as a user would; returns the finished process."""
    env = dict(os.environ, SCRIPTSERVER_PREFIX=ioc.prefix, COLUMNS="160")
    done = subprocess.run([SCRIPTSERVER, *words], env=env, capture_output=True, text=True,
                          timeout=60)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def cli_json(ioc, *words):
    done = cli(ioc, "--json", *words)
    return json.loads(done.stdout)


def test_add_types_arguments_from_the_command_description(ioc):
    ids = cli_json(ioc, "add", "move", "sample_x", "position=3")["ids"]
    queued = cli_json(ioc, "queue")["queue"]
    assert [j["id"] for j in queued] == ids
    assert queued[0]["job"] == {"command": "move", "args": {"axis": "sample_x",
                                                            "position": 3.0}}
    table = cli(ioc, "queue").stdout
    assert "move(axis='sample_x', position=3.0)" in table and f"│ {ids[0]} " in table
    assert "[detectors=<main|monitor|diffraction>]" in cli(ioc, "commands").stdout


def test_a_refusal_prints_the_servers_words_and_exits_non_zero(ioc):
    done = cli(ioc, "add", "set_e", "energy=25", check=False)
    assert done.returncode == 1
    assert "did you mean 'set_ei'" in done.stderr
    done = cli(ioc, "--json", "move", "999", "0", check=False)
    assert done.returncode == 1 and "999" in json.loads(done.stdout)["error"]
    done = cli(ioc, "add", "wait", "seconds=soon", check=False)
    assert done.returncode == 1 and "seconds must be float" in done.stderr
    assert get_value(ioc.pv("QUEUE:LEN")) == 0


def test_no_server_exits_2_with_what_to_check(tmp_path):
    env = dict(os.environ, SCRIPTSERVER_PREFIX="NOBODY:HERE:")
    done = subprocess.run([SCRIPTSERVER, "--timeout", "0.5", "queue"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "is the script server running" in done.stderr


def test_queue_editing_and_show(ioc, tmp_path):
    script = tmp_path / "scan.py"
    script.write_text("print('scanning')\n")
    first = cli_json(ioc, "add", "--script", str(script))["ids"][0]
    second = cli_json(ioc, "add", "wait", "0.1", "--name", "short wait")["ids"][0]
    cli_json(ioc, "move", str(second), "front")
    assert [j["id"] for j in cli_json(ioc, "queue")["queue"]] == [second, first]
    record = cli_json(ioc, "show", str(first))
    assert record["name"] == "scan.py" and record["where"] == "queue"
    cli_json(ioc, "remove", str(second))
    assert [j["id"] for j in cli_json(ioc, "queue")["queue"]] == [first]


def test_control_and_watch_follow_a_job_to_its_end(ioc):
    job = cli_json(ioc, "add", "wait", "seconds=1.5")["ids"][0]
    cli_json(ioc, "start")
    wait_for(lambda: get_value(ioc.pv("JOB:ID")) == job, what="job to start")
    done = cli(ioc, "--json", "watch")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["id"] == job and lines[-1]["ended"]["status"] == "finished"
    assert any(0 < (line.get("progress") or 0) < 100 for line in lines[:-1])
    runs = cli_json(ioc, "history")
    assert runs[0]["id"] == job and runs[0]["status"] == "finished"
    assert "finished" in cli(ioc, "history").stdout

    job = cli_json(ioc, "add", "wait", "seconds=30")["ids"][0]
    cli_json(ioc, "start")                       # the queue stopped when it ran out of jobs
    wait_for(lambda: get(ioc.pv("STATE")) == "RUNNING", what="second job running")
    assert cli_json(ioc, "pause", "--now")["done"] == "JOB:PAUSE:NOW"
    wait_for(lambda: get(ioc.pv("STATE")) == "PAUSED", what="PAUSED")
    cli_json(ioc, "resume")
    wait_for(lambda: get(ioc.pv("STATE")) == "RUNNING", what="RUNNING again")
    cli_json(ioc, "stop")
    assert get(ioc.pv("QUEUE:STATE")) == "STOPPING"
    cli_json(ioc, "abort")
    wait_for(lambda: get(ioc.pv("STATE")) == "IDLE", what="aborted")
    assert cli_json(ioc, "history")[0]["status"] == "aborted"
    done = cli(ioc, "resume", check=False)
    assert done.returncode == 1 and done.stderr.strip()


def test_watch_shows_a_live_bar_in_a_terminal_and_says_how_it_ended(ioc):
    ids = cli_json(ioc, "add", "wait", "seconds=1")["ids"]
    put(ioc.pv("QUEUE:START"), 1)
    wait_for(lambda: get_value(ioc.pv("JOB:ID")) == ids[0], what="job to start")
    done = cli(ioc, "watch")
    assert f"job {ids[0]}" in done.stdout and "finished" in done.stdout


def test_login_opens_a_session_so_puts_are_accepted(ioc):
    put_checked(ioc.pv("AUTH:LOGOUT"), "me")                 # the fixture logged us in
    done = cli(ioc, "add", "wait", "1", check=False)
    assert done.returncode == 1 and "log in" in done.stderr.lower()
    assert "logged in" in cli(ioc, "login").stdout
    assert cli_json(ioc, "add", "wait", "1")["ids"]
