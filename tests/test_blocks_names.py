"""Block names: the block server's format, genie_python's PV names, the script check."""
import json

import pytest
from hypothesis import given, strategies as st
from ibex_non_ca_helpers.compress_hex import compress_and_hex

from scriptserver.blocks.api import _condition
from scriptserver.blocks.names import (BlockError, UnknownBlock, block_pv, decode_block_names,
                                       instrument_prefix)
from scriptserver.commands.blockcheck import (block_argument_problems, block_names_used,
                                              block_problems)
from scriptserver.ioc import ibexenv

NAMES = st.lists(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True), max_size=30)


@given(NAMES)
def test_block_names_decode_from_what_the_block_server_publishes(names):
    published = compress_and_hex(json.dumps(names))
    assert decode_block_names(published) == names
    assert decode_block_names(published + b"\0\0\0") == names      # a NUL-padded waveform
    assert decode_block_names(published.decode()) == names


def test_block_pv_is_genie_pythons(monkeypatch):
    monkeypatch.setenv("MYPVPREFIX", "IN:LARMOR:")
    assert block_pv("temp1") == "IN:LARMOR:CS:SB:TEMP1"
    monkeypatch.delenv("MYPVPREFIX")
    with pytest.raises(BlockError, match="MYPVPREFIX is not set"):
        instrument_prefix()


def test_an_unknown_block_says_what_was_meant():
    assert str(UnknownBlock("TMEP1", ["TEMP1", "FIELD"])) == \
        "no block named 'TMEP1'; did you mean 'TEMP1'?"
    assert "the blocks are FIELD, TEMP1" in str(UnknownBlock("XYZ", ["TEMP1", "FIELD"]))
    assert "could not be read" in str(UnknownBlock("XYZ", None))


SCRIPT = '''\
from scriptserver.blocks import cget, cset, waitfor
from genie_python import genie as g
cset("TEMP1", 5, wait=True, lowlimit=4)
cset(FIELD=0.5, TMEP2=3, runcontrol=True)
waitfor("temp1", 5, maxwait=10)
g.cget("Feild")
name = "TEMP" + "9"
cget(name)
print("not a block")
'''


def test_the_script_check_finds_literal_block_names_only():
    assert block_names_used(SCRIPT) == [("TEMP1", 3), ("FIELD", 4), ("TMEP2", 4),
                                        ("temp1", 5), ("Feild", 6)]
    assert [str(p) for p in block_problems(SCRIPT, ["TEMP1", "TEMP2", "FIELD"])] == [
        "line 4: no block named 'TMEP2'; did you mean 'TEMP2'?",
        "line 6: no block named 'Feild'; did you mean 'FIELD'?",
    ]
    assert block_problems(SCRIPT, ["TEMP1", "TMEP2", "FEILD", "FIELD"]) == []
    assert block_problems("def broken(:\n", ["TEMP1"]) == []      # the syntax check says why


def test_command_arguments_are_block_names_only_where_typed_block():
    parameters = [{"name": "block", "type": "Block"}, {"name": "label", "type": "str"}]
    known = ["TEMP1", "FIELD"]
    assert block_argument_problems(parameters, {"block": "temp1", "label": "TMEP1"}, known,
                                   "set_block") == []
    assert [p.text for p in block_argument_problems(parameters, {"block": "TMEP1"}, known,
                                                    "set_block")] == [
        "set_block: block: no block named 'TMEP1'; did you mean 'TEMP1'?"]
    assert [p.text for p in block_argument_problems(parameters, {"block": 3}, known,
                                                    "set_block")] == [
        "set_block: block must be a block name (text), not 3"]


@pytest.mark.parametrize("value, low, high, reads, reached", [
    (5, None, None, [4.9, 5, 5.1], [False, True, False]),
    (None, 4, None, [3.9, 4, 100], [False, True, True]),
    (5, 4.5, 5.5, [4.4, 5.4, 5.6], [False, True, False]),
    ("OPEN", None, None, ["CLOSED", "OPEN"], [False, True]),
    (lambda v: v > 2, None, None, [1, 3], [False, True]),
    (5, None, None, [float("nan")], [False]),
])
def test_waitfor_conditions_mean_what_genie_pythons_do(value, low, high, reads, reached):
    condition = _condition("B", value, low, high)
    assert [condition(v) for v in reads] == reached


def test_macros_become_configuration_values(tmp_path):
    settings = ibexenv.macro_settings({"MACROS": json.dumps({
        "QUEUE_MODE": "CONTINUE_ON_FAILURE", "ABORT_GRACE": "2.5", "PVA": "NO",
        "COMMANDS": f"{tmp_path};{tmp_path}/b", "IOCNAME_OF_IBEX": "x"})})
    assert settings == {"queue_mode": "CONTINUE_ON_FAILURE", "abort_grace": 2.5, "pva": False,
                        "commands": [str(tmp_path), str(tmp_path / "b")]}
    assert ibexenv.ioc_prefix({"MYPVPREFIX": "IN:X:"}, None) == "IN:X:SCRPTSRV_01:"
    assert ibexenv.ioc_prefix({"MYPVPREFIX": "IN:X:", "IOCNAME": "SCRPTSRV_02"}, None) == \
        "IN:X:SCRPTSRV_02:"
    assert ibexenv.ioc_prefix({}, "SCRPTSRV_03") is None
