"""README's promises, end to end: a real IOC process, real CA (and PVA) clients.

Two IOCs serve the whole module, each check leaving the queue empty and the job ended:
``shared`` with the default configuration, ``lean`` with ``history_length: 2``,
``line_interval: 0`` and ``pva: false``. Jobs are held or released by "gate" files, so
nothing waits on a fixed sleep.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import epics
import pytest

from ca import get, get_json, get_value, put_checked, read
from conftest import IOC, REPO, add, wait_for
from scriptserver.ioc import rows


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    server = IOC(tmp_path_factory.mktemp("shared")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lean(tmp_path_factory):
    server = IOC(tmp_path_factory.mktemp("lean"),
                 extra_config="history_length: 2\nline_interval: 0\npva: false\n").start()
    yield server
    server.stop()


# -- helpers ----------------------------------------------------------------------------

def history(ioc: IOC) -> list[dict]:
    return get_json(ioc.pv("HISTORY")) or []


def ended(ioc: IOC, job_id: int, status: str = "finished") -> dict:
    """The newest history entry of ``job_id`` once it has ended (failing if not ``status``)."""
    run = wait_for(lambda: next((r for r in history(ioc) if r["id"] == job_id
                                 and r["status"] != "running"), None),
                   timeout=20, what=f"job {job_id} to end")
    assert run["status"] == status, run
    return run


def output(ioc: IOC, job_id: int) -> str:
    put_checked(ioc.pv("QUEUE:GET"), str(job_id))     # completes with the record in place
    record = get_json(ioc.pv("QUEUE:GET:RESULT"))
    assert record["id"] == job_id
    return record["runs"][-1]["output"]


def run(ioc: IOC, job) -> list[int]:
    """Queue ``job`` and start the queue (it may be stopped by an earlier failure)."""
    ids = add(ioc, job)
    put_checked(ioc.pv("QUEUE:START"), 1)
    return ids


def wait_state(ioc: IOC, wanted: str) -> None:
    wait_for(lambda: get(ioc.pv("STATE")) == wanted, what=f"STATE {wanted}")


def gated(gate: Path, body: str = "") -> str:
    """A black-box script: ``body``, then wait until ``gate`` exists."""
    return (f"import os, time\n{body}"
            f"while not os.path.exists({str(gate)!r}):\n    time.sleep(0.01)\n")


# -- script_file ------------------------------------------------------------------------

def test_a_script_file_job_runs_the_stored_script(shared):
    (shared.scripts / "answer.py").write_text(
        "x = 6 * 7\nprint('the answer is', x, 'from', __file__.rsplit('/', 1)[-1])\n")
    (job,) = run(shared, {"script_file": "answer.py"})
    ended(shared, job)
    assert output(shared, job) == "the answer is 42 from answer.py\n"


def test_a_script_file_deleted_after_queueing_fails_naming_the_file(shared, tmp_path):
    gate = tmp_path / "gate"
    stored = shared.scripts / "vanishing_scan.py"
    stored.write_text("print('never printed')\n")
    first, job = run(shared, [{"script": gated(gate), "name": "holds the queue"},
                              {"script_file": "vanishing_scan.py"}])
    wait_for(lambda: get_value(shared.pv("JOB:ID")) == first, what="the first job to run")
    stored.unlink()                                 # deleted while queued
    gate.touch()
    run_ = ended(shared, job, "failed")
    assert "vanishing_scan.py" in run_["error"], run_["error"]
    assert "IsADirectoryError" not in run_["error"], run_["error"]
    wait_for(lambda: "vanishing_scan.py" in get(shared.pv("ERROR")), what="ERROR to name it")
    assert get(shared.pv("STATE")) == "IDLE"        # the IOC is unaffected


# -- pause ------------------------------------------------------------------------------

SLEEP = 2.0     # s the paused script asks time.sleep for


def test_a_paused_time_sleep_keeps_its_end_time(shared, tmp_path):
    """README: time.sleep is interrupted by pause-now, but time spent paused counts as slept.

    The job is paused just after its sleep began and resumed once the sleep's end time has
    passed. Counting the pause as slept, the sleep returns on resume, having lasted about as
    long as the pause; not counting it (the demo `wait`'s way), it would last SLEEP *more*
    than the pause. The test tells the two apart, with SLEEP as the margin.
    """
    began = tmp_path / "began"
    (job,) = run(shared, {"name": "sleeper", "script": textwrap.dedent(f"""\
        import time
        start = time.monotonic()
        open({str(began)!r}, "w").write(repr(start + {SLEEP}))
        time.sleep({SLEEP})
        print(time.monotonic() - start)
        """)})
    wait_for(began.exists, what="the sleep to begin")
    put_checked(shared.pv("JOB:PAUSE:NOW"), 1)
    wait_state(shared, "PAUSED")                     # at once: the sleep was interrupted
    paused_seen = time.monotonic()
    end = float(began.read_text())
    # a condition on the clock both share (CLOCK_MONOTONIC): the sleep's end has passed
    wait_for(lambda: time.monotonic() > end + 0.2, timeout=SLEEP + 10, what="the end time")
    assert get(shared.pv("STATE")) == "PAUSED" and get_value(shared.pv("JOB:ID")) == job
    resumed = time.monotonic()
    put_checked(shared.pv("JOB:RESUME"), 1)
    ended(shared, job)
    slept = float(output(shared, job))
    paused_at_least = resumed - paused_seen          # the job was paused all that time
    assert slept >= SLEEP                            # never early
    assert slept < paused_at_least + SLEEP, (slept, paused_at_least)


# -- comment tags -----------------------------------------------------------------------

def test_a_progress_percent_tag_is_reported(shared, tmp_path):
    gate = tmp_path / "gate"
    (job,) = run(shared, {"script": gated(gate, "# progress 30%\n")})
    wait_for(lambda: get_value(shared.pv("JOB:PROGRESS")) == 30.0, what="JOB:PROGRESS 30")
    assert get_value(shared.pv("JOB:ID")) == job
    gate.touch()
    ended(shared, job)


# -- configuration ----------------------------------------------------------------------

def test_history_length_limits_p_history(lean):
    ids = run(lean, [{"script": "pass", "name": f"h{i}"} for i in range(3)])
    ended(lean, ids[-1])
    assert [r["id"] for r in history(lean)] == [ids[2], ids[1]]      # newest first, 2 of 3


def test_line_interval_0_reports_no_lines_but_progress_still_arrives(lean, tmp_path):
    gate = tmp_path / "gate"
    lines: list = []
    monitor = epics.PV(lean.pv("JOB:LINE"), auto_monitor=True,
                       callback=lambda value=None, **kw: lines.append(value))
    wait_for(lambda: monitor.connected and lines, what="a JOB:LINE monitor")
    # with lines sampled (every 0.1 s by default), the sleep's line would be reported
    # long before the progress that follows it
    (job,) = run(lean, {"script": gated(gate, (
        "from scriptserver.jobs.api import progress\n"
        "time.sleep(0.5)\n"
        "progress(0.5)\n"))})
    wait_for(lambda: get_value(lean.pv("JOB:PROGRESS")) == 50.0, what="JOB:PROGRESS 50")
    assert get_value(lean.pv("JOB:ID")) == job
    assert get_value(lean.pv("JOB:LINE")) == 0 and not get_json(lean.pv("JOB:STACK"))
    gate.touch()
    ended(lean, job)
    monitor.disconnect()
    assert set(lines) == {0}, lines


PVA_STATE = textwrap.dedent("""\
    import sys
    import pvaccess
    channel = pvaccess.Channel(sys.argv[1] + "STATE")
    channel.setTimeout(3.0)
    try:
        print("answered", channel.get()["value"])
    except Exception as err:
        print("no answer:", type(err).__name__, err)
    """)


def pva_state(ioc: IOC) -> str:
    done = subprocess.run([sys.executable, "-c", PVA_STATE, ioc.prefix], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **ioc.pva_env()})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_pva_false_serves_channel_access_only(lean, shared):
    assert pva_state(shared).startswith("answered")   # the same client finds a PVA face
    assert pva_state(lean).startswith("no answer"), pva_state(lean)
    assert read(lean.pv("QUEUE:LEN"))[0] == 0 and get(lean.pv("STATE")) == "IDLE"


# -- the command line -------------------------------------------------------------------

def readme_pv_names() -> set[str]:
    text = (REPO / "README.md").read_text()
    return set(re.findall(r"^\| `P:([A-Z][A-Z0-9n_:]*)` \|", text, flags=re.MULTILINE))


def test_list_pvs_prints_every_pv_and_the_ioc_serves_each(shared):
    program = Path(sys.executable).with_name("scriptserver-ioc")
    argv = [str(program)] if program.exists() else [sys.executable, "-m", "scriptserver.ioc"]
    done = subprocess.run(argv + ["--config", str(shared.config), "--list-pvs"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    listed = done.stdout.split()
    assert listed and all(name.startswith(shared.prefix) for name in listed)
    assert len(listed) == len(set(listed))
    # the same PVs as README's table (generated; drift-tested against the code)...
    assert {rows.pattern(name.removeprefix(shared.prefix))       # one line per row field
            for name in listed} == readme_pv_names()
    # ... and each one is served by the running IOC
    values = epics.caget_many(listed, as_string=True, timeout=5)
    assert [n for n, v in zip(listed, values) if v is None] == []
    assert json.loads(get(shared.pv("COMMANDS:NAMES")))        # a sample read: not empty
