"""JSON a client can send but the server could not keep or show is refused in words."""
import pytest
from hypothesis import given, settings, strategies as st

from scriptserver.jobs import spec
from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.spec import parse_json


@pytest.mark.parametrize("text,words", [
    ('{"command": "wait", "name": "\\ud800"}', "not valid Unicode at \\['name'\\].*unpaired surrogate"),
    ('{"script": "x = \'\\udfff\'"}', "unpaired surrogate"),
    ('{"\\ud800": 1}', "unpaired surrogate"),
    ("[" * 40 + "]" * 40, "nests lists/objects more than 32 deep"),
    ("[" * 200_000, "too deeply"),
    ("1" + "0" * 30, "number too large"),
    ("9" * 5000, "thousands of digits"),
    ("NaN", "not a number JSON can carry"),
    ("[1e999]", "inf at \\[0\\]"),
    ('"a\\u0000b"', "NUL character"),
])
def test_unkeepable_json_is_refused_with_words(text, words):
    with pytest.raises(RequestRefused, match=words):
        parse_json(text)


def test_the_depth_limit_is_the_configured_one(monkeypatch):
    monkeypatch.setattr(spec, "MAX_DEPTH", 3)
    parse_json("[[[1]]]")
    with pytest.raises(RequestRefused, match="more than 3 deep"):
        parse_json("[[[[1]]]]")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_is_parsed_or_refused_in_words_and_what_is_accepted_encodes(text):
    try:
        data = parse_json(text)
    except RequestRefused as refused:
        assert str(refused)
    else:
        import json
        json.dumps(data, allow_nan=False).encode("utf-8")
