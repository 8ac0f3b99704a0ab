"""Hostile puts on every writable PV, through caproto's CA client: the IOC stays up, each
refusal has words in P:ERROR (never "internal error"), and a refused put changes nothing.

Random bytes, random JSON, deep nesting, huge numbers, invalid UTF-8, lone surrogates,
NUL bytes, text on numeric PVs, bad enum strings, writes to status PVs, and payloads far
over a PV's size (10 MB). The budget is kept to seconds: see ``EXAMPLES``.
"""
import json

import numpy as np
import pytest
from caproto import ChannelType, ErrorResponseReceived
from caproto.sync import client as caproto_client
from hypothesis import HealthCheck, given, settings, strategies as st

from ca import fresh, get, get_json, get_value
from scriptserver.ioc.pvs import PVS

EXAMPLES = 120
# every control PV but the reload (it restarts the job launcher: slow, and any value is fine)
WRITABLE = [pv for pv in PVS if pv.action and pv.action != "reload_commands"]
STATUS = [pv for pv in PVS if pv.action is None][:6]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20)
hostile_text = st.one_of(
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
    st.integers(20, 5000).map(lambda n: "9" * n),
    st.sampled_from(['{"command": "wait", "name": "\\ud800"}', '{"script": "\\udfff"}',
                     '"\\ud83d"', "NaN", "[1e999]", '{"id": 1.5}', '{"id": true, "pos": 0}',
                     '{"id": 99999999999999999999999}', "[" * 100_000, "", " ",
                     '{"jobs": [], "pos": "nowhere"}', '{"id": "7"}', '{"script": "x\\u0000"}']),
)
payloads = st.one_of(
    hostile_text.map(lambda t: ("text", t)),
    st.binary(max_size=300).map(lambda b: ("bytes", b)),
    st.sampled_from([b"\xff\xfe{", b'{"script": "\xc3("}', b"a\x00b", b"\x00", b"\x80" * 10,
                     b"\xed\xa0\x80"]).map(lambda b: ("bytes", b)),
    st.sampled_from(["STOP_ON_FAILUR", "KEEP_RUNNING ", "-1", "1e99", "nan", "abc", ""])
    .map(lambda t: ("string", t)),
)


def send(name, kind, value):
    if kind == "bytes" or (kind == "text" and len(value) > 0):
        data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
        caproto_client.write(name, np.frombuffer(data + b"\0", dtype=np.uint8), notify=True,
                             data_type=ChannelType.CHAR, timeout=10, repeater=False)
    else:
        caproto_client.write(name, [value.encode("utf-8", "surrogatepass")], notify=True,
                             data_type=ChannelType.STRING, timeout=10, repeater=False)


def picture(ioc):
    return (get(ioc.pv("STATE")), get(ioc.pv("QUEUE:STATE")), get(ioc.pv("QUEUE:MODE")),
            get(ioc.pv("QUEUE:WHEN_EMPTY")), get(ioc.pv("QUEUE")), get_value(ioc.pv("JOB:ID")))


def check_refusal(ioc, pv, err, log_before):
    words = err.args[0].error_message.decode(errors="replace")
    assert words, f"{pv.name}: a refusal without words"
    log = get_json(ioc.pv("ERROR:LOG"))
    assert log != log_before, f"{pv.name}: refused ({words}) but P:ERROR did not change"
    latest = log[0]["error"]
    assert pv.name in latest, latest
    assert "internal error" not in latest and "Python exception" not in latest, latest
    assert latest == fresh(ioc.pv("ERROR"))


@pytest.fixture(scope="module")
def fuzzed_ioc(tmp_path_factory):
    from conftest import IOC
    server = IOC(tmp_path_factory.mktemp("fuzz")).start()
    yield server
    server.stop()


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pv=st.sampled_from(WRITABLE + STATUS), payload=payloads)
def test_hostile_puts_are_refused_in_words_and_change_nothing(fuzzed_ioc, pv, payload):
    ioc = fuzzed_ioc
    before, log_before = picture(ioc), get_json(ioc.pv("ERROR:LOG"))
    try:
        send(ioc.pv(pv.name), *payload)
    except ErrorResponseReceived as err:
        check_refusal(ioc, pv, err, log_before)
        assert picture(ioc) == before, f"a refused put on {pv.name} changed something"
    assert ioc.process.poll() is None, "the IOC died"


@pytest.mark.parametrize("name", ["QUEUE:ADD", "QUEUE:MOVE", "VALIDATE"])
def test_a_payload_over_the_pv_size_is_refused_before_it_is_read(fuzzed_ioc, name):
    ioc = fuzzed_ioc
    pv = next(p for p in PVS if p.name == name)
    before, log_before = picture(ioc), get_json(ioc.pv("ERROR:LOG"))
    with pytest.raises(ErrorResponseReceived) as refused:
        send(ioc.pv(name), "bytes", b'{"script": "' + b"x" * 10_000_000 + b'"}')
    check_refusal(ioc, pv, refused.value, log_before)
    assert "bytes; this PV takes at most" in get(ioc.pv("ERROR"))
    assert picture(ioc) == before
