"""Arguments typed as words become values of the types the command description names."""
import pytest

from scriptserver.jobs.arguments import parse, parse_text, signature
from scriptserver.jobs.errors import RequestRefused

COUNT = {"name": "count", "parameters": [
    {"name": "seconds", "type": "float", "required": True, "units": "s", "allowed": None},
    {"name": "detectors", "type": "list[Literal]", "required": False, "units": None,
     "allowed": ["main", "monitor"]},
    {"name": "repeats", "type": "int", "required": False, "allowed": None},
    {"name": "save", "type": "bool", "required": False, "allowed": None},
    {"name": "title", "type": "str", "required": False, "allowed": None},
]}


def test_words_are_typed_by_name_or_in_order():
    assert parse(["5", "detectors=main,monitor", "repeats=3", "save=no", "title=25"],
                 COUNT) == {"seconds": 5.0, "detectors": ["main", "monitor"], "repeats": 3,
                            "save": False, "title": "25"}
    assert parse_text("seconds=2 title='two words'", COUNT) == {"seconds": 2.0,
                                                               "title": "two words"}


@pytest.mark.parametrize("words, words_said", [
    (["seconds=soon"], "seconds must be float, not 'soon'"),
    (["energy=3"], "count has no parameter 'energy'"),
    (["1", "main", "2", "yes", "t", "extra"], "one too many"),
    (["seconds=1", "seconds=2"], "seconds is given twice"),
    (["save=maybe"], "save must be bool"),
])
def test_mistakes_are_refused_in_words(words, words_said):
    with pytest.raises(RequestRefused, match=words_said):
        parse(words, COUNT)


def test_signature_says_what_to_type():
    assert signature(COUNT).startswith("count seconds=<float s> [detectors=<main|monitor>]")
