"""IBEX's view of one script server IOC: record fields, setpoints, hexed puts, start-up.

Blocks are gateway aliases of these PVs, and genie_python reads their fields:
``.EGU`` and ``.SEVR`` for ``cget``, ``.DISP`` before every ``cset``.
"""
import json
import os
import subprocess
import sys

import epics
import pytest
from caproto import ErrorResponseReceived
from ibex_non_ca_helpers.compress_hex import compress_and_hex

from ca import get, get_json, get_value, put, put_checked, read, refusal
from conftest import wait_for
from scriptserver.ioc.pvs import PVS
from scriptserver.ioc.records import record_for

SCALARS = [pv for pv in PVS if record_for(pv) is not None]
SETTABLE = [pv for pv in SCALARS if pv.action]


def test_scalar_pvs_carry_the_record_fields_ibex_reads(ioc):
    assert get(ioc.pv("STATE.DESC")) == "Script server job state"
    assert get(ioc.pv("QUEUE:LEN.EGU")) == "jobs"
    assert get(ioc.pv("JOB:ELAPSED.EGU")) == "s"
    assert get_value(ioc.pv("JOB:ELAPSED.PREC")) == 1
    assert (get_value(ioc.pv("JOB:PROGRESS.LOPR")), get_value(ioc.pv("JOB:PROGRESS.HOPR"))) == \
        (0.0, 100.0)
    assert get(ioc.pv("STATE.SEVR")) == "NO_ALARM"
    # no job: the time left is unknown, NaN with an INVALID alarm, and the fields say so
    assert get(ioc.pv("JOB:REMAINING.SEVR")) == "INVALID"
    assert get(ioc.pv("JOB:REMAINING.STAT")) == "SOFT"
    for pv in SCALARS:
        assert get(ioc.pv(pv.name + ".DESC")), f"{pv.name}.DESC is empty"
        assert len(get(ioc.pv(pv.name + ".DESC"))) <= 40


def test_a_put_is_posted_once_and_alarm_fields_only_when_the_alarm_changes(ioc):
    """As a C record: a monitor of the PV gets one update per put (caproto wrote it twice:
    the action's new state, then the put's value), and a monitor on .SEVR hears of a new
    severity, not of every value."""
    seen: list = []
    values: list = []
    severity = epics.PV(ioc.pv("QUEUE:MODE.SEVR"), callback=lambda value=None, **_:
                        seen.append(value), form="native")
    mode = epics.PV(ioc.pv("QUEUE:MODE"), callback=lambda value=None, **_: values.append(value),
                    form="native")
    try:
        wait_for(lambda: seen and values, what="the first updates")
        for value in (1, 0, 1, 0):
            put_checked(ioc.pv("QUEUE:MODE"), value)
        wait_for(lambda: len(values) >= 5, what="every new mode")
        assert values == [0, 1, 0, 1, 0]
        assert seen == [0]                                  # NO_ALARM, once
        assert get(ioc.pv("QUEUE:MODE.SEVR")) == "NO_ALARM"
        assert get(ioc.pv("JOB:REMAINING.SEVR")) == "INVALID"    # a changed alarm is shown
    finally:
        severity.disconnect()
        mode.disconnect()


def test_disp_reads_zero_every_time_with_both_clients(ioc):
    """caproto used to send DISP=0 as an empty payload (a client then reads a stale byte)."""
    for _ in range(25):
        for pv in SETTABLE:
            assert epics.caget(ioc.pv(pv.name + ".DISP"), use_monitor=False) == 0, pv.name
    for pv in SETTABLE:
        data = read(ioc.pv(pv.name + ".DISP"))
        assert len(data) == 1 and int(data[0]) == 0, pv.name


def test_queue_mode_follows_the_ibex_setpoint_convention(ioc):
    put_checked(ioc.pv("QUEUE:MODE:SP"), 1)                       # CONTINUE_ON_FAILURE
    assert get(ioc.pv("QUEUE:MODE:SP:RBV")) == "CONTINUE_ON_FAILURE"
    assert get(ioc.pv("QUEUE:MODE")) == "CONTINUE_ON_FAILURE"
    put(ioc.pv("QUEUE:MODE"), "STOP_ON_FAILURE")                  # the old PV still sets it
    wait_for(lambda: get(ioc.pv("QUEUE:MODE:SP:RBV")) == "STOP_ON_FAILURE")
    assert get(ioc.pv("QUEUE:MODE:SP")) == "STOP_ON_FAILURE"


def test_control_pvs_take_compressed_hexed_json_as_ibex_clients_send_it(ioc):
    job = {"script": "print('from IBEX')", "name": "hexed"}
    hexed = compress_and_hex(json.dumps(job)).decode()
    put_checked(ioc.pv("QUEUE:ADD:HEX"), hexed)
    job_id = int(get_value(ioc.pv("QUEUE:ADD:IDS"))[0])
    assert [j["name"] for j in get_json(ioc.pv("QUEUE"))] == ["hexed"]
    put_checked(ioc.pv("VALIDATE:HEX"), compress_and_hex(json.dumps({"command": "set_e"})).decode())
    assert "did you mean 'set_ei'" in get_json(ioc.pv("VALIDATE:RESULT"))["error"]
    put_checked(ioc.pv("QUEUE:REMOVE:HEX"), compress_and_hex(str(job_id)).decode())
    assert get_json(ioc.pv("QUEUE")) == []


def test_a_put_that_is_not_hex_is_refused_and_changes_nothing(ioc):
    with pytest.raises(ErrorResponseReceived) as err:
        put_checked(ioc.pv("QUEUE:ADD:HEX"), '{"script": "pass"}')
    assert "not zlib-compressed hex text" in refusal(err)
    assert "QUEUE:ADD:HEX: not zlib-compressed hex" in get(ioc.pv("ERROR"))
    assert get_json(ioc.pv("QUEUE")) == []


def ioc_command(*args, **env):
    return subprocess.run([sys.executable, "-m", "scriptserver.ioc", *args],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


def test_mypvprefix_and_ioc_name_make_the_prefix():
    names = ioc_command("--list-pvs", MYPVPREFIX="IN:DEMO:").stdout.split()
    assert "IN:DEMO:SCRPTSRV_01:STATE" in names
    named = ioc_command("--list-pvs", "--ioc-name", "SCRPTSRV_02", MYPVPREFIX="IN:DEMO:")
    assert "IN:DEMO:SCRPTSRV_02:QUEUE:ADD:HEX" in named.stdout.split()
    explicit = ioc_command("--list-pvs", "--prefix", "X:", MYPVPREFIX="IN:DEMO:")
    assert explicit.stdout.split()[0] == "X:STATE"


@pytest.mark.parametrize("macros, message", [
    ('{"ABORT_GRACE": "soon"}', "macro ABORT_GRACE='soon': must be seconds"),
    ('{"QUEUE_MODE": "SOMETIMES"}', "queue_mode must be STOP_ON_FAILURE or CONTINUE_ON_FAILURE"),
    ("not json", "MACROS is not a JSON object"),
])
def test_a_bad_macro_stops_the_start_with_its_reason(macros, message):
    result = ioc_command("--list-pvs", MACROS=macros)
    assert result.returncode == 2 and message in result.stderr
