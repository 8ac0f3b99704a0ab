"""Checking command calls against descriptions: pure, no files, no processes."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scriptserver.commands.validate import check_call, parse_type, unknown_command_message
from scriptserver.jobs.errors import RequestRefused


def parameter(name, type_="float", required=True, default=None, units=None, limits=None,
              allowed=None):
    return {"name": name, "type": type_, "default": default, "required": required,
            "units": units, "limits": limits, "allowed": allowed, "description": ""}


def command(name, *parameters, kind="function"):
    return {"name": name, "summary": "", "description": "", "parameters": list(parameters),
            "module": "/nowhere/beam.py", "has_estimate": False, "kind": kind}


SET_EI = command("set_ei", parameter("energy", units="meV", limits=[0, 800]))
MOVE = command("move", parameter("axis", "Literal", allowed=["x", "y", "theta"]),
               parameter("position", units="mm", limits=[-50, None]))
COUNT = command("count", parameter("frames", "int", limits=[1, 1000]),
                parameter("detectors", "list[str]", required=False, default=["main"]),
                parameter("save", "bool", required=False, default=True),
                parameter("comment", "str | None", required=False))


def refusal(description, args) -> str:
    with pytest.raises(RequestRefused) as caught:
        check_call(description, args)
    return str(caught.value)


# --- accepted calls --------------------------------------------------------------------


def test_an_int_is_fine_for_a_float_and_comes_back_as_a_float():
    typed = check_call(SET_EI, {"energy": 25})
    assert typed == {"energy": 25.0} and isinstance(typed["energy"], float)


def test_a_whole_float_is_fine_for_an_int():
    typed = check_call(COUNT, {"frames": 10.0})
    assert typed == {"frames": 10} and isinstance(typed["frames"], int)


def test_only_the_given_arguments_come_back_so_the_command_s_defaults_apply():
    assert check_call(COUNT, {"frames": 3}) == {"frames": 3}


def test_lists_booleans_optional_and_allowed_values():
    typed = check_call(COUNT, {"frames": 1, "detectors": ["a", "b"], "save": False,
                               "comment": None})
    assert typed == {"frames": 1, "detectors": ["a", "b"], "save": False, "comment": None}
    assert check_call(MOVE, {"axis": "theta", "position": 1e9}) == {"axis": "theta",
                                                                    "position": 1e9}


def test_limits_include_their_ends():
    assert check_call(SET_EI, {"energy": 0}) == {"energy": 0.0}
    assert check_call(SET_EI, {"energy": 800}) == {"energy": 800.0}


# --- every refusal, with its message ---------------------------------------------------


def test_missing_argument_says_what_is_expected():
    assert refusal(SET_EI, {}) == \
        "set_ei: missing argument energy (float in meV, between 0 and 800)"


def test_unexpected_argument_with_did_you_mean():
    assert refusal(SET_EI, {"enrgy": 25}) == \
        "set_ei: unexpected argument 'enrgy'; did you mean 'energy'?"


def test_unexpected_argument_without_a_close_name_lists_the_parameters():
    assert refusal(SET_EI, {"energy": 25, "colour": "red"}) == \
        "set_ei: unexpected argument 'colour' (set_ei takes energy)"
    assert refusal(command("home"), {"speed": 1}) == \
        "home: unexpected argument 'speed' (home takes no arguments)"


def test_a_string_is_not_a_number():
    assert refusal(SET_EI, {"energy": "abc"}) == "set_ei: energy must be a number, not 'abc'"
    assert refusal(SET_EI, {"energy": "25"}) == "set_ei: energy must be a number, not '25'"


def test_bool_is_not_a_number():
    assert refusal(SET_EI, {"energy": True}) == "set_ei: energy must be a number, not true"
    assert "frames must be a whole number, not false" in refusal(COUNT, {"frames": False})


def test_a_float_with_a_fractional_part_is_not_an_int():
    assert refusal(COUNT, {"frames": 2.5}) == "count: frames must be a whole number, not 2.5"


def test_not_finite_numbers_are_refused():
    assert refusal(command("wait", parameter("seconds")), {"seconds": math.inf}) == \
        "wait: seconds must be a finite number, not inf"


def test_out_of_range_names_the_limits_and_units():
    assert refusal(SET_EI, {"energy": 900}) == \
        "set_ei: energy must be between 0 and 800 meV, not 900"
    assert refusal(MOVE, {"axis": "x", "position": -51}) == \
        "move: position must be at least -50 mm, not -51"
    assert refusal(COUNT, {"frames": 0}) == "count: frames must be between 1 and 1000, not 0"


def test_not_one_of_the_allowed_values():
    assert refusal(MOVE, {"axis": "z", "position": 0}) == \
        "move: axis must be one of 'x', 'y', 'theta', not 'z'"
    assert refusal(MOVE, {"axis": "thta", "position": 0}) == \
        "move: axis must be one of 'x', 'y', 'theta', not 'thta'; did you mean 'theta'?"


def test_bool_is_not_an_allowed_int():
    levels = command("attenuate", parameter("level", "Literal", allowed=[0, 1, 2]))
    assert check_call(levels, {"level": 1}) == {"level": 1}
    assert refusal(levels, {"level": True}) == \
        "attenuate: level must be one of 0, 1, 2, not true"


def test_wrong_types_inside_lists_and_for_text_and_bool():
    assert refusal(COUNT, {"frames": 1, "detectors": ["main", 3]}) == \
        "count: detectors[1] must be text, not 3"
    assert refusal(COUNT, {"frames": 1, "detectors": "main"}) == \
        "count: detectors must be a list (list[str]), not 'main'"
    assert refusal(COUNT, {"frames": 1, "save": "yes"}) == \
        "count: save must be true or false, not 'yes'"
    assert refusal(COUNT, {"frames": 1, "comment": 5}) == "count: comment must be text, not 5"


def test_several_problems_are_all_reported():
    message = refusal(COUNT, {"frames": 2.5, "save": 1, "extra": 0})
    assert message.startswith("count: ")
    assert "frames must be a whole number" in message
    assert "save must be true or false" in message
    assert "unexpected argument 'extra'" in message


def test_arguments_must_be_an_object():
    assert refusal(SET_EI, [25]) == \
        "set_ei: arguments must be a JSON object of name: value, not [25]"


def test_script_definitions_accept_values_typed_as_text_like_ibex():
    do_run = command("do_run", parameter("temperature", required=False, default=1.0),
                     parameter("label", "str", required=False, default="a"),
                     kind="script_definition")
    assert check_call(do_run, {"temperature": "1.5", "label": 3}) == \
        {"temperature": 1.5, "label": "3"}
    assert refusal(do_run, {"temperature": "warm"}) == \
        "do_run: temperature must be a number, not 'warm'"


def test_unknown_types_are_shown_but_not_checked():
    odd = command("odd", parameter("thing", "SampleChanger"))
    assert check_call(odd, {"thing": {"any": "value"}}) == {"thing": {"any": "value"}}


def test_type_names_parse_into_trees():
    assert parse_type("float") == ("float", ())
    assert parse_type("list[str]") == ("list", (("str", ()),))
    assert parse_type("dict[str, list[float]] | None") == \
        ("|", (("dict", (("str", ()), ("list", (("float", ()),)))), ("None", ())))


def test_unknown_command_message():
    assert unknown_command_message("set_e", ["set_ei", "move"]) == \
        "unknown command 'set_e'; did you mean 'set_ei'?"
    assert unknown_command_message("fly", ["set_ei", "move"]) == \
        "unknown command 'fly'; the commands are 'move', 'set_ei'"
    assert unknown_command_message("fly", []) == "unknown command 'fly'; no commands are loaded"


# --- properties ------------------------------------------------------------------------


LIMITED = command("set_ei", parameter("energy", units="meV", limits=[-800, 800]))
WHOLE = command("count", parameter("frames", "int"))


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=-800, max_value=800))
def test_any_float_within_limits_is_accepted_unchanged(value):
    assert check_call(LIMITED, {"energy": value}) == {"energy": value}


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=False).filter(lambda x: abs(x) > 800))
def test_any_float_outside_limits_is_refused(value):
    assert "must be between -800 and 800 meV" in refusal(LIMITED, {"energy": value})


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != int(x)))
def test_any_float_with_a_fractional_part_is_refused_for_an_int(value):
    assert refusal(WHOLE, {"frames": value}).startswith("count: frames must be a whole number")


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-800, max_value=800))
def test_any_int_within_limits_is_accepted_for_a_float(value):
    typed = check_call(LIMITED, {"energy": value})
    assert typed["energy"] == value and isinstance(typed["energy"], float)


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.text(), st.booleans(), st.none(), st.lists(st.integers())))
def test_nothing_but_a_number_is_accepted_for_a_float(value):
    assert refusal(LIMITED, {"energy": value}).startswith("set_ei: energy must be a number")


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1).filter(lambda name: name != "energy"))
def test_any_other_argument_name_is_refused(name):
    assert f"unexpected argument {name!r}" in refusal(LIMITED, {"energy": 1, name: 1})
