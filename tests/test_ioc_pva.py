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
    out = {"state": get("STATE"), "commands": json.loads(get("COMMANDS:NAMES"))}
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
    wait_for(lambda: "QUEUE:ADD" in get(ioc.pv("ERROR")))
