"""Loading a command to run it (what the job subprocess does), and the demo commands."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from scriptserver.commands.describe import describe_file
from scriptserver.commands.ibex import ScriptDefinitionError
from scriptserver.commands.loader import load_command
from scriptserver.commands.validate import check_call
from scriptserver.jobs.errors import RequestRefused

from conftest import DEMO_COMMANDS, write


def run(folders: list[Path], name: str, args: dict):
    """What the worker does: load, check the call, call."""
    call, description = load_command(folders, name)
    return call(**check_call(description, args))


def test_a_function_command_is_called_with_typed_arguments(tmp_path):
    path = write(tmp_path, "beam.py", '''
        def set_ei(energy: float, fast: bool = False):
            return (energy, type(energy).__name__, fast)
    ''')
    call, description = load_command([tmp_path], "set_ei")
    assert description["name"] == "set_ei" and description["module"] == str(path)
    assert run([tmp_path], "set_ei", {"energy": 25}) == (25.0, "float", False)


def test_the_file_is_imported_fresh_each_time(tmp_path):
    write(tmp_path, "beam.py", "def version():\n    return 1\n")
    assert run([tmp_path], "version", {}) == 1
    write(tmp_path, "beam.py", "def version():\n    return 2  # edited\n")
    assert run([tmp_path], "version", {}) == 2


def test_enum_parameters_arrive_as_members(tmp_path):
    write(tmp_path, "polariser.py", '''
        import enum

        class Spin(enum.Enum):
            UP = "up"
            DOWN = "down"

        def polarise(spin: Spin, then: list[Spin] = ()):
            return spin, list(then)
    ''')
    spin, then = run([tmp_path], "polarise", {"spin": "down", "then": ["up"]})
    assert (type(spin).__name__, spin.value) == ("Spin", "down")
    assert [s.value for s in then] == ["up"]


def test_async_commands_run_to_completion_and_aliases_are_one_command(tmp_path):
    write(tmp_path, "beam.py", '''
        import asyncio

        async def settle(seconds: float):
            await asyncio.sleep(seconds)
            return "settled"

        wait_to_settle = settle
    ''')
    call, description = load_command([tmp_path], "settle")
    assert call(seconds=0.01) == "settled"
    assert [c["name"] for c in describe_file(tmp_path / "beam.py")["commands"]] == ["settle"]


def test_unknown_command_did_you_mean(tmp_path):
    write(tmp_path, "timing.py", "def wait(seconds: float): pass\n")
    with pytest.raises(RequestRefused, match=r"^unknown command 'wiat'; did you mean 'wait'\?$"):
        load_command([tmp_path], "wiat")


def test_a_command_whose_file_no_longer_imports_is_refused_with_the_reason(tmp_path):
    write(tmp_path, "timing.py", "import no_such_module_here\ndef wait(seconds: float): pass\n")
    with pytest.raises(RequestRefused) as refused:
        load_command([tmp_path], "wait")
    assert str(refused.value) == ("cannot load timing.py: ModuleNotFoundError: No module named "
                                  "'no_such_module_here' (line 1)")


def test_the_first_folder_wins_as_in_the_library(tmp_path):
    write(tmp_path / "site", "beam.py", "def set_ei(energy: float):\n    return 'site'\n")
    write(tmp_path / "local", "beam.py", "def set_ei(energy: float):\n    return 'local'\n")
    assert run([tmp_path / "site", tmp_path / "local"], "set_ei", {"energy": 1}) == "site"


def test_a_file_with_a_syntax_error_does_not_hide_other_commands(tmp_path):
    write(tmp_path, "a_broken.py", "def f(:\n")
    write(tmp_path, "b_timing.py", "def wait(seconds: float):\n    return seconds\n")
    assert run([tmp_path], "wait", {"seconds": 2}) == 2.0


DO_RUN = '''
    from genie_python.genie_script_generator import ScriptDefinition, cast_parameters_to

    calls = []


    class DoRun(ScriptDefinition):
        global_params_definition = {"sample:": ("3", int)}

        @cast_parameters_to(temperature=float, uamps=float)
        def run(self, temperature="1.0", uamps="5.0", label="x"):
            if label == "fail":
                return "the run could not start"
            return (temperature, uamps, label, self.global_params["sample:"])

        @cast_parameters_to(temperature=float, uamps=float)
        def parameters_valid(self, temperature="1.0", uamps="5.0", label="x"):
            return None if temperature < 300 else f"temperature {temperature:g} K is too hot"

        def get_help(self):
            return "Take a run."
'''


def test_a_script_definition_runs_with_defaults_filled_in_like_ibex(tmp_path):
    write(tmp_path, "do_run.py", DO_RUN)
    assert run([tmp_path], "do_run", {"uamps": 2}) == (1.0, 2.0, "x", 3)
    assert run([tmp_path], "do_run", {"temperature": "4.5"}) == (4.5, 5.0, "x", 3)


def test_a_script_definition_refuses_with_its_parameters_valid_message(tmp_path):
    write(tmp_path, "do_run.py", DO_RUN)
    with pytest.raises(RequestRefused, match=r"^do_run: temperature 350 K is too hot$"):
        run([tmp_path], "do_run", {"temperature": 350})


def test_a_script_definition_whose_run_returns_an_error_fails(tmp_path):
    write(tmp_path, "do_run.py", DO_RUN)
    with pytest.raises(ScriptDefinitionError, match=r"^do_run: the run could not start$"):
        run([tmp_path], "do_run", {"label": "fail"})


# --- the demo instrument ---------------------------------------------------------------


def test_demo_wait_never_ends_early():
    # how close to its deadline it ends is a figure: `python -m benchmarks --only library`
    call, description = load_command([DEMO_COMMANDS], "wait")
    deadline = time.monotonic() + 0.05
    call(**check_call(description, {"seconds": 0.05}))
    assert time.monotonic() >= deadline


def test_demo_commands_run_and_check_their_values():
    assert run([DEMO_COMMANDS], "do_run", {"uamps": 0.2, "temperature": 300}) is None
    with pytest.raises(RequestRefused, match="temperature must be between 1.5 and 400 K"):
        run([DEMO_COMMANDS], "do_run", {"temperature": 1000})
    counts = run([DEMO_COMMANDS], "count", {"seconds": 0.1, "detectors": ["monitor"]})
    assert list(counts) == ["monitor"]
    with pytest.raises(RequestRefused, match="count: detectors\\[0\\] must be one of"):
        run([DEMO_COMMANDS], "count", {"seconds": 0.1, "detectors": ["nope"]})
    with pytest.raises(RequestRefused, match="set_ei: energy must be between 0.5 and 800 meV"):
        run([DEMO_COMMANDS], "set_ei", {"energy": 1000})
