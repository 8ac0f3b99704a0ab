"""The PV Access face: the status PVs over PVA (pvapy), read-only.

pvapy cannot tell who writes, so PVA offers no control: control PVs, TOKEN and
USERS are not served, and a put to a status PV is refused and changes nothing.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from ca import fresh, get_value

CLIENT = textwrap.dedent("""\
    import json, sys
    import pvaccess
    prefix = sys.argv[1]
    def channel(name):
        c = pvaccess.Channel(prefix + name)
        c.setTimeout(2.0)
        return c
    def get(name):
        value = channel(name).get()["value"]
        if isinstance(value, dict):                      # an NTEnum
            return value["choices"][value["index"]]
        return value
    def put(name, value):
        try:
            channel(name).put(value)
            return "accepted"
        except Exception as err:  # noqa: BLE001 - the refusal is what is checked
            return str(err)
    def served(name):
        try:
            c = channel(name)
            c.setTimeout(1.0)
            c.get()
            return True
        except Exception:  # noqa: BLE001 - not found within the timeout
            return False
    out = {"state": get("STATE"), "commands": json.loads(get("COMMANDS:NAMES")),
           "ids": [int(i) for i in get("QUEUE:IDS")], "mode": get("QUEUE:MODE")}
    out["put state"] = put("STATE", "RUNNING")
    out["put error"] = put("ERROR", "fake news")
    out["put mode"] = put("QUEUE:MODE", "CONTINUE_ON_FAILURE")
    out["state after"], out["error after"] = get("STATE"), get("ERROR")
    out["served"] = {n: served(n) for n in ("STATE", "QUEUE:ADD", "TOKEN", "USERS")}
    print(json.dumps(out))
    """)


def run_client(ioc) -> dict:
    result = subprocess.run([sys.executable, "-c", CLIENT, ioc.prefix], capture_output=True,
                            text=True, timeout=60, env={**os.environ, **ioc.pva_env()})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_pva_serves_status_read_only_and_no_control(ioc):
    seen = run_client(ioc)
    assert seen["state"] == "IDLE" and "wait" in seen["commands"]
    assert seen["ids"] == list(get_value(ioc.pv("QUEUE:IDS")))       # CA agrees
    for put in ("put state", "put error", "put mode"):
        assert "not allowed" in seen[put], seen[put]
    assert seen["state after"] == "IDLE" and seen["error after"] == ""
    assert seen["served"] == {"STATE": True, "QUEUE:ADD": False, "TOKEN": False, "USERS": False}
    assert fresh(ioc.pv("QUEUE:MODE")) == "STOP_ON_FAILURE" and fresh(ioc.pv("QUEUE:LEN")) == 0


def listening(pid: int) -> set[tuple[str, str]]:
    """(protocol, local address) of the sockets process ``pid`` listens or receives on."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for proto in ("tcp", "udp", "tcp6", "udp6"):
        for line in Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if inode in inodes and (proto.startswith("udp") or state == "0A"):   # 0A: LISTEN
                found.add((proto, _address(local)))
    return found


def _address(hex_address: str) -> str:
    host, port = hex_address.split(":")
    if len(host) == 8:
        return ".".join(str(int(host[i:i + 2], 16)) for i in (6, 4, 2, 0)) + f":{int(port, 16)}"
    return f"[{host}]:{int(port, 16)}"


def test_every_face_listens_on_loopback_only(ioc):
    ports = {ioc.port, ioc.pva_port, ioc.pva_broadcast}
    everything = listening(ioc.process.pid)
    tcp_hosts = {addr.rsplit(":", 1)[0] for proto, addr in everything if proto.startswith("tcp")}
    assert tcp_hosts == {"127.0.0.1"}, everything      # no connection from elsewhere, any port
    bound = {(proto, addr) for proto, addr in everything
             if int(addr.rsplit(":", 1)[1]) in ports}
    hosts = {addr.rsplit(":", 1)[0] for _, addr in bound}
    assert {"tcp"} <= {proto for proto, _ in bound} and {"udp"} <= {proto for proto, _ in bound}
    assert hosts <= {"127.0.0.1", "224.0.0.128"}, bound          # PVA's local multicast group
    assert any(addr.endswith(f":{ioc.pva_port}") for proto, addr in bound if proto == "tcp")


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
