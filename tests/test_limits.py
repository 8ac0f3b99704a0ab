"""Limits: configurable, refused in words, and large PVs summarised, never cut mid-way."""
import json
import os

import pytest
from caproto import ErrorResponseReceived

from ca import get, get_json, put_checked, refusal
from scriptserver.ioc import limits
from scriptserver.ioc.serialized import Serialized, fitted
from scriptserver.jobs.queue import Job
from scriptserver.jobs.spec import parse_job


def test_a_list_too_large_for_its_pv_shows_its_head_and_a_marker_and_stays_json():
    parts = [json.dumps({"id": i, "pad": "x" * 100}) for i in range(1000)]
    text = fitted(parts, 10_000, "QUEUE:GET")
    assert len(text) <= 10_000
    data = json.loads(text)
    marker = data[-1]["truncated"]
    assert marker["total"] == 1000 and marker["shown"] == len(data) - 1 > 50
    assert [d["id"] for d in data[:-1]] == list(range(marker["shown"]))
    assert json.loads(fitted(parts[:3], 10_000, "")) == [json.loads(p) for p in parts[:3]]


def test_given_the_total_the_parts_past_the_limit_are_never_made():
    made = []

    def parts():
        for i in range(1000):
            made.append(i)
            yield json.dumps({"id": i, "pad": "x" * 100})
    data = json.loads(fitted(parts(), 10_000, "QUEUE:GET", total=1000))
    assert data[-1]["truncated"]["total"] == 1000
    assert len(made) == data[-1]["truncated"]["shown"] + 1       # one more, found too big


def test_the_hex_form_fits_even_when_the_text_does_not_compress():
    jobs = [Job(i, parse_job({"script": os.urandom(600).hex()})) for i in range(1, 200)]
    serialized = Serialized()
    build = serialized.queue(jobs)
    hexed = serialized.hex("queue", build, 60_000)
    assert len(hexed) <= 60_000
    import zlib
    data = json.loads(zlib.decompress(bytes.fromhex(hexed)))
    assert data[-1]["truncated"]["total"] == 199


def test_limits_are_checked_in_the_configuration_with_words():
    assert limits.check({"queue_length": 0}) == [
        "limits: queue_length must be a whole number, 1 or more, not 0"]
    assert "at most 10000" in limits.check({"request_bytes": 20_000})[0]
    assert "unknown key 'queue_len'" in limits.check({"queue_len": 3})[0]


def test_configured_limits_refuse_in_words_and_change_nothing(make_ioc):
    ioc = make_ioc(extra_config="limits: {queue_length: 5, jobs_per_add: 3, "
                                "request_bytes: 200}\n").start()
    job = {"command": "wait", "args": {"seconds": 0}}
    with pytest.raises(ErrorResponseReceived) as refused:
        put_checked(ioc.pv("QUEUE:ADD"), [job] * 4)
    assert "4 jobs in one put; at most 3" in refusal(refused)
    put_checked(ioc.pv("QUEUE:ADD"), [job] * 3)
    with pytest.raises(ErrorResponseReceived) as refused:
        put_checked(ioc.pv("QUEUE:ADD"), [job] * 3)
    assert "takes at most 5 (limits.queue_length)" in refusal(refused)
    assert len(get_json(ioc.pv("QUEUE"))) == 3
    with pytest.raises(ErrorResponseReceived) as refused:
        put_checked(ioc.pv("QUEUE:MOVE"), {"id": 1, "pos": 0, "pad": "x" * 300})
    assert "this PV takes at most 200" in get(ioc.pv("ERROR"))
    with pytest.raises(ErrorResponseReceived):
        put_checked(ioc.pv("QUEUE:ADD"), {"command": "wait", "args": {"x": [[[[[[[[[[[[
            [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}})
    assert "more than 32 deep (limits.json_depth)" in get(ioc.pv("ERROR"))
