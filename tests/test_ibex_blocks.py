"""Issue 14 end to end: the script server as an IBEX IOC beside a block-server stand-in.

The stand-in (``blockserver.py``) is an EPICS soft IOC serving simulated devices as
blocks and ``CS:BLOCKSERVER:BLOCKNAMES`` in the block server's format; the script
server runs with ``MYPVPREFIX`` and ``MACROS`` as IBEX starts it. Jobs use blocks by
name; the script server's own PVs are read back through ``CS:SB:`` blocks.
"""
import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import epics
import pytest
from caproto import ErrorResponseReceived

from blockserver import BlockServer
from ca import get, get_json, get_value, put, put_checked, refusal
from conftest import IOC, wait_for, write

FORWARDS = {"SCRIPT_QUEUE_LEN": ("QUEUE:LEN", "long"), "SCRIPT_REMAINING": ("JOB:REMAINING",
            "double"), "SCRIPT_PROGRESS": ("JOB:PROGRESS", "double")}


@pytest.fixture(scope="module")
def ibex(tmp_path_factory):
    """(script server, block server) under one test instrument prefix, shared by the tests."""
    tmp_path = tmp_path_factory.mktemp("ibex")
    instrument = f"TE:NDT{os.getpid()}:"
    commands = write(tmp_path / "commands", "blocks.py", """\
        from scriptserver.blocks import Block, cset


        def set_block(block: Block, value: float, label: str = ""):
            \"\"\"Set a block and wait until it reads the value.\"\"\"
            cset(block, value, wait=True, maxwait=30)
        """).parent
    server = IOC(tmp_path / "ioc", commands=commands)
    ibex_env = {"MYPVPREFIX": instrument, "MACROS": json.dumps(
        {"QUEUE_MODE": "CONTINUE_ON_FAILURE", "SOMETHING_ELSE": "ignored"})}
    server.prefix = instrument + "SCRPTSRV_01:"
    server.start(extra_env=ibex_env)
    forwards = {block: (server.pv(pv), kind) for block, (pv, kind) in FORWARDS.items()}
    blocks = BlockServer(tmp_path / "blocks", instrument, forwards).start()
    yield server, blocks
    blocks.stop()
    server.stop()


def run_script(server, source: str, name: str = "blocks job") -> dict:
    put_checked(server.pv("QUEUE:ADD"), {"script": source, "name": name})
    job_id = int(get_value(server.pv("QUEUE:ADD:IDS"))[0])
    put(server.pv("QUEUE:START"), 1)

    def ended():
        return next((r for r in get_json(server.pv("HISTORY")) or [] if r["id"] == job_id), None)
    return wait_for(ended, timeout=40, what=f"job {job_id} to end")


def test_served_under_mypvprefix_with_macros_applied(ibex):
    server, _ = ibex
    assert server.pv("STATE").startswith("TE:NDT") and ":SCRPTSRV_01:" in server.pv("STATE")
    assert get(server.pv("QUEUE:MODE")) == "CONTINUE_ON_FAILURE"
    assert get(server.pv("QUEUE:MODE:SP:RBV")) == "CONTINUE_ON_FAILURE"


def test_a_job_csets_a_block_and_waits_for_it(ibex):
    server, blocks = ibex
    run = run_script(server, """
        from scriptserver.blocks import cget, cset, waitfor
        cset("temp1", 3.0)
        assert waitfor("TEMP1", 3.0, maxwait=30), "never reached"
        cset(TEMP1=1.0, wait=True, maxwait=30)
        t = cget("TEMP1")
        print("TEMP1", t["value"], t["unit"], t["alarm"])
        assert waitfor("TEMP1", lambda v: v < 2, maxwait=10)
        print("timed out" if not waitfor("TEMP1", 99.0, maxwait=0.3) else "reached")
        p = cget("PRESSURE")
        print("PRESSURE", p["value"], p["unit"], p["alarm"])
        print("SHUTTER", cget("SHUTTER")["value"], cget("SHUTTER")["unit"])
    """.replace("\n        ", "\n"))
    assert run["status"] == "finished", run
    record = run.get("output") or ""
    if not record:
        put(server.pv("QUEUE:GET"), str(run["id"]))
        record = json.dumps(get_json(server.pv("QUEUE:GET:RESULT")))
    assert "TEMP1 1.0 K NO_ALARM" in record
    assert "waitfor timed out after 0.3 s: TEMP1 is 1.0" in record
    assert "timed out" in record
    assert "PRESSURE 5.0 mbar MINOR" in record
    assert "SHUTTER CLOSED None" in record
    assert epics.caget(blocks.pv("SIM:TEMP1:SP"), use_monitor=False) == 1.0


def test_a_job_asking_for_an_unknown_block_at_run_time_fails_with_did_you_mean(ibex):
    server, _ = ibex
    run = run_script(server, "from scriptserver.blocks import cget\nname = 'TEMP' + '2'\n"
                             "cget(name)\n")
    assert run["status"] == "failed"
    assert "no block named 'TEMP2'; did you mean 'TEMP1'?" in run["error"]


def test_validation_rejects_an_unknown_block_name_with_did_you_mean(ibex):
    server, blocks = ibex
    script = {"script": "from scriptserver.blocks import cset\ncset('TMEP1', 3)\n"}
    wait_for(lambda: refused(server, script), timeout=15, what="the block names to be known")
    with pytest.raises(ErrorResponseReceived) as err:
        put_checked(server.pv("QUEUE:ADD"), script)
    assert "line 2: no block named 'TMEP1'; did you mean 'TEMP1'?" in refusal(err)
    put_checked(server.pv("VALIDATE"), script)
    verdict = get_json(server.pv("VALIDATE:RESULT"))
    assert verdict["valid"] is False and "did you mean 'TEMP1'" in verdict["error"]
    blocks.publish(blocks.names + ["TMEP1"])           # a new configuration has the block
    wait_for(lambda: not refused(server, script), timeout=15, what="the new block names")
    blocks.publish(blocks.names[:-1])


def refused(server, job) -> bool:
    put_checked(server.pv("VALIDATE"), job)
    return get_json(server.pv("VALIDATE:RESULT"))["valid"] is False


def test_the_script_servers_own_pvs_as_blocks_give_value_units_and_alarm(ibex):
    server, blocks = ibex
    run = run_script(server, """
        from scriptserver.blocks import cget
        for block in ("SCRIPT_QUEUE_LEN", "SCRIPT_REMAINING", "SCRIPT_PROGRESS"):
            b = cget(block)
            print(block, b["value"], b["unit"], b["alarm"])
    """.replace("\n        ", "\n"))
    assert run["status"] == "finished", run
    put(server.pv("QUEUE:GET"), str(run["id"]))
    output = json.dumps(get_json(server.pv("QUEUE:GET:RESULT")))
    assert "SCRIPT_QUEUE_LEN 0 jobs NO_ALARM" in output
    assert "SCRIPT_PROGRESS 0.0 % NO_ALARM" in output
    # no job has an estimate here, so the time left is unknown: NaN with an INVALID alarm
    assert "SCRIPT_REMAINING nan s INVALID" in output


def test_genie_pythons_own_cget_and_cset_many_times_in_a_row(ibex):
    """genie_python (optional: not installed in CI) against the server and the stand-in.

    ``set_pv`` on a script server PV reads its ``.DISP`` before writing, every time:
    a DISP that is not sent as 0 makes it refuse now and then ("DISP is set").
    """
    try:        # the installed distribution: the command library's stand-in module is no sign
        importlib.metadata.version("genie_python")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("genie_python is not installed (optional: pip install genie_python)")
    server, blocks = ibex
    rounds = 100
    result = subprocess.run([sys.executable, str(Path(__file__).parent / "genie_driver.py"),
                             blocks.instrument, server.prefix, str(rounds)],
                            capture_output=True, text=True, timeout=240)
    line = next((l for l in result.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line, result.stdout[-3000:] + result.stderr[-3000:]
    seen = json.loads(line[len("RESULT "):])
    assert seen["temps"] == ["K"] * (rounds // 10)
    assert seen["modes"] == [True] * rounds
    assert seen["temp_reached"] == pytest.approx(2.0)
    assert seen["queue_len"] == [0, "jobs", "NO_ALARM"]
    assert seen["remaining"] == ["s", "INVALID"]


def test_a_command_argument_typed_block_is_checked_and_the_command_sets_it(ibex):
    server, blocks = ibex
    bad = {"command": "set_block", "args": {"block": "TMEP1", "value": 2.5}}
    wait_for(lambda: refused(server, bad), timeout=15, what="the block names to be known")
    with pytest.raises(ErrorResponseReceived) as err:
        put_checked(server.pv("QUEUE:ADD"), bad)
    assert "set_block: block: no block named 'TMEP1'; did you mean 'TEMP1'?" in refusal(err)
    # an argument not typed Block is not a block name, whatever it says
    put_checked(server.pv("QUEUE:ADD"), {"command": "set_block", "args": {
        "block": "temp1", "value": 2.5, "label": "TMEP1"}})
    job_id = int(get_value(server.pv("QUEUE:ADD:IDS"))[0])
    put(server.pv("QUEUE:START"), 1)
    wait_for(lambda: any(r["id"] == job_id and r["status"] == "finished"
                         for r in get_json(server.pv("HISTORY")) or []), timeout=40)
    assert epics.caget(blocks.pv("SIM:TEMP1"), use_monitor=False) == pytest.approx(2.5)
