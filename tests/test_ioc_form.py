"""The command form PVs: a display queues a command job without writing JSON."""
import epics
import pytest
from caproto import ErrorResponseReceived

from ca import get, get_json, get_value, put_checked, refusal


def test_the_form_offers_the_commands_and_queues_typed_arguments(ioc):
    choices = epics.PV(ioc.pv("FORM:COMMAND"), form="ctrl")
    choices.wait_for_connection(5)
    names = get_json(ioc.pv("COMMANDS:NAMES"))
    assert list(choices.get_ctrlvars()["enum_strs"]) == names[:16]

    put_checked(ioc.pv("FORM:COMMAND"), names.index("move"))
    assert get(ioc.pv("FORM:COMMAND")) == "move"
    assert get(ioc.pv("FORM:HELP")).startswith("move axis=<sample_x|sample_y|sample_z>")
    put_checked(ioc.pv("FORM:ARGS"), "sample_y position=-2.5")
    put_checked(ioc.pv("FORM:ADD"), 1)
    queued = get_json(ioc.pv("QUEUE"))
    assert queued[-1]["job"] == {"command": "move", "args": {"axis": "sample_y",
                                                            "position": -2.5}}
    assert list(get_value(ioc.pv("QUEUE:ADD:IDS"))) == [queued[-1]["id"]]


def test_a_wrong_form_is_refused_in_words_and_queues_nothing(ioc):
    put_checked(ioc.pv("FORM:COMMAND"), get_json(ioc.pv("COMMANDS:NAMES")).index("move"))
    put_checked(ioc.pv("FORM:ARGS"), "sample_y position=far")
    with pytest.raises(ErrorResponseReceived) as refused:
        put_checked(ioc.pv("FORM:ADD"), 1)
    assert "position must be float, not 'far'" in refusal(refused)
    assert "position must be float" in get(ioc.pv("ERROR"))
    put_checked(ioc.pv("FORM:ARGS"), "sample_y position=500")
    with pytest.raises(ErrorResponseReceived):
        put_checked(ioc.pv("FORM:ADD"), 1)
    assert get_value(ioc.pv("QUEUE:LEN")) == 0
