"""The PV Access face: the same PVs over PVA (pvapy), next to Channel Access."""
import json
import os
import subprocess
import sys
import textwrap

from ca import get, get_value
from conftest import wait_for

CLIENT = textwrap.dedent("""\
    import json, sys, time
    import pvaccess
    prefix = sys.argv[1]
    def get(name):
        return pvaccess.Channel(prefix + name).get()["value"]
    state = get("STATE")
    out = {"state": state["choices"][state["index"]], "commands": json.loads(get("COMMANDS:NAMES"))}
    pvaccess.Channel(prefix + "QUEUE:ADD").put('{"script": "pass", "name": "via pva"}')
    deadline = time.monotonic() + 10
    while get("QUEUE:LEN") != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    out["len"] = get("QUEUE:LEN")
    out["queue"] = json.loads(get("QUEUE"))
    out["ids"] = [int(i) for i in get("QUEUE:IDS")]
    pvaccess.Channel(prefix + "QUEUE:ADD").put('{"nonsense": 1}')
    deadline = time.monotonic() + 10
    while "nonsense" not in get("ERROR") and time.monotonic() < deadline:
        time.sleep(0.05)
    out["error"] = get("ERROR")
    print(json.dumps(out))
    """)


def test_pva_clients_read_status_and_queue_jobs(ioc):
    result = subprocess.run([sys.executable, "-c", CLIENT, ioc.prefix], capture_output=True,
                            text=True, timeout=60, env={**os.environ, **ioc.pva_env()})
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["state"] == "IDLE" and "wait" in seen["commands"]
    assert seen["len"] == 1 and seen["queue"][0]["name"] == "via pva"
    assert seen["ids"] == list(get_value(ioc.pv("QUEUE:IDS")))      # CA agrees
    assert "unknown key(s) 'nonsense'" in seen["error"] or "exactly one" in seen["error"]
    assert seen["error"].startswith("QUEUE:ADD: ")
    assert get(ioc.pv("ERROR")) == seen["error"]                  # CA shows the same words


TYPES_CLIENT = textwrap.dedent("""\
    import json, math, sys
    from p4p.client.thread import Context
    prefix, names = sys.argv[1], json.loads(sys.argv[2])
    raw = Context("pva", nt=False)
    out = {}
    for name in names:
        v = raw.get(prefix + name, timeout=5)
        entry = {"id": v.getID(), "seconds": v["timeStamp.secondsPastEpoch"],
                 "nanoseconds": v["timeStamp.nanoseconds"], "severity": v["alarm.severity"]}
        if "display" in v:
            entry["units"] = v["display.units"]
            entry["description"] = v["display.description"]
            entry["high"] = v["display.limitHigh"]
        if v.getID().startswith("epics:nt/NTTable"):
            entry["labels"] = list(v["labels"])
        out[name] = entry
    # p4p's own unwrapping keeps working after an id array was read
    nt = Context("pva")
    ids = nt.get(prefix + "QUEUE:IDS")
    state = nt.get(prefix + "STATE")
    out["unwrapped"] = {"ids": [int(i) for i in ids], "state": str(state),
                        "state_choices": list(state.raw["value.choices"])}
    # a JSON text put as a plain string (wrapped, as p4p takes a text starting with "{")
    nt.put(prefix + "VALIDATE", {"value": json.dumps({"script": "pass"})})
    print(json.dumps(out))
    """)


def test_pva_serves_normative_types_with_the_same_time_and_alarm_as_ca(ioc):
    from caproto import ChannelType
    from caproto.sync import client as caproto_client
    from ca import TIMEOUT, put_checked
    put_checked(ioc.pv("QUEUE:ADD"), {"script": "pass", "name": "tabled"})
    names = ["STATE", "QUEUE:LEN", "QUEUE:IDS", "JOB:ESTIMATE", "JOB:PROGRESS", "ERROR",
             "QUEUE:TABLE", "HISTORY:TABLE"]
    result = subprocess.run([sys.executable, "-c", TYPES_CLIENT, ioc.prefix, json.dumps(names)],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, **ioc.pva_env()})
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["STATE"]["id"].startswith("epics:nt/NTEnum")
    assert seen["QUEUE:IDS"]["id"].startswith("epics:nt/NTScalarArray")
    assert seen["QUEUE:LEN"]["id"].startswith("epics:nt/NTScalar:")
    assert seen["JOB:PROGRESS"]["units"] == "%" and seen["JOB:PROGRESS"]["high"] == 100.0
    assert "% done" in seen["JOB:PROGRESS"]["description"]
    assert seen["JOB:ESTIMATE"]["severity"] == 3          # NaN (unknown): INVALID, as over CA
    assert seen["QUEUE:TABLE"]["labels"][:3] == ["id", "name", "kind"]
    assert "status" in seen["HISTORY:TABLE"]["labels"]
    assert seen["unwrapped"]["state"] == "IDLE" and seen["unwrapped"]["ids"] == \
        [int(i) for i in get_value(ioc.pv("QUEUE:IDS"))]
    for name in ("QUEUE:LEN", "JOB:ESTIMATE"):
        ca = caproto_client.read(ioc.pv(name), data_type=ChannelType.TIME_DOUBLE,
                                 timeout=TIMEOUT, repeater=False)
        pva_time = seen[name]["seconds"] + seen[name]["nanoseconds"] * 1e-9
        assert seen[name]["seconds"] > 0 and abs(ca.metadata.timestamp - pva_time) < 1e-3, name
        assert int(ca.metadata.severity) == seen[name]["severity"], name
    wait_for(lambda: '"valid": true' in get(ioc.pv("VALIDATE:RESULT")).replace('":true', '": true'),
             what="the PVA put of a JSON text to be validated")
