"""Describing command files: what a description says, and files that go wrong."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scriptserver.commands.describe import describe_paths, merged

from conftest import DEMO_COMMANDS, write


def describe(*folders: Path) -> dict:
    return merged(describe_paths(list(folders)))


def by_name(report: dict) -> dict:
    return {c["name"]: c for c in report["commands"]}


def params(description: dict) -> dict:
    return {p["name"]: p for p in description["parameters"]}


BEAM = '''
    from __future__ import annotations

    import enum
    from os.path import join          # imported: not a command
    from typing import Annotated, Literal, Optional


    class Polarisation(enum.Enum):
        UP = "up"
        DOWN = "down"


    def set_ei(energy: Annotated[float, "meV", (0, 800)], fast: bool = False):
        """Set the incident energy.

        The choppers are phased for the new energy.

        Parameters
        ----------
        energy : float
            Incident energy,
            in meV.
        fast : bool
            Skip the final check.
        """


    def estimate_set_ei(energy, fast=False):
        return 2.0


    def move(axis: Literal["x", "y"], position: Annotated[float, "mm", (-5, None)] = 0.0,
             speed=1.5, note=None, *, detectors: list[str] = ["main"]):
        """Move an axis.

        Args:
            axis (str): Which axis.
            position: Where to,
                in mm.
        """


    def polarise(direction: Polarisation, count: Optional[int] = None, tags: tuple = ()):
        """Polarise.

        :param direction: Up or down.
        :param count: How many
            flips.
        """


    def estimate_flux(power: float) -> float:
        """A command that happens to be called estimate_something."""
        return power


    def _helper():
        pass
'''


def test_description_of_a_function_command(tmp_path):
    path = write(tmp_path / "commands", "beam.py", BEAM)
    report = describe(tmp_path / "commands")
    assert report["errors"] == {}
    commands = by_name(report)
    assert sorted(commands) == ["estimate_flux", "move", "polarise", "set_ei"]
    set_ei = commands["set_ei"]
    assert set_ei["summary"] == "Set the incident energy."
    assert set_ei["description"].startswith("Set the incident energy.\n\nThe choppers are phased")
    assert set_ei["module"] == str(path)
    assert set_ei["has_estimate"] is True and set_ei["kind"] == "function"
    assert params(set_ei)["energy"] == {
        "name": "energy", "type": "float", "default": None, "required": True, "units": "meV",
        "limits": [0, 800], "allowed": None, "description": "Incident energy, in meV."}
    assert params(set_ei)["fast"] == {
        "name": "fast", "type": "bool", "default": False, "required": False, "units": None,
        "limits": None, "allowed": None, "description": "Skip the final check."}
    assert commands["move"]["has_estimate"] is False
    assert commands["estimate_flux"]["has_estimate"] is False
    json.dumps(report)  # all of it is JSON


def test_types_defaults_and_allowed_values(tmp_path):
    write(tmp_path / "commands", "beam.py", BEAM)
    commands = by_name(describe(tmp_path / "commands"))
    move, polarise = params(commands["move"]), params(commands["polarise"])
    assert move["axis"]["type"] == "Literal" and move["axis"]["allowed"] == ["x", "y"]
    assert move["position"]["limits"] == [-5, None] and move["position"]["default"] == 0.0
    assert move["speed"]["type"] == "float" and move["speed"]["default"] == 1.5  # from default
    assert move["note"]["type"] == "Any" and move["note"]["required"] is False
    assert move["detectors"]["type"] == "list[str]" and move["detectors"]["default"] == ["main"]
    assert polarise["direction"]["type"] == "Literal"
    assert polarise["direction"]["allowed"] == ["up", "down"]
    assert polarise["count"]["type"] == "int | None"
    assert polarise["tags"]["type"] == "list" and polarise["tags"]["default"] == []


def test_parameter_descriptions_in_the_three_docstring_styles(tmp_path):
    write(tmp_path / "commands", "beam.py", BEAM)
    commands = by_name(describe(tmp_path / "commands"))
    assert params(commands["set_ei"])["energy"]["description"] == "Incident energy, in meV."
    assert params(commands["move"])["axis"]["description"] == "Which axis."
    assert params(commands["move"])["position"]["description"] == "Where to, in mm."
    assert params(commands["move"])["speed"]["description"] == ""
    assert params(commands["polarise"])["direction"]["description"] == "Up or down."
    assert params(commands["polarise"])["count"]["description"] == "How many flips."


def test_helper_files_are_not_command_files_but_can_be_imported(tmp_path):
    folder = tmp_path / "commands"
    write(folder, "_motors.py", "SPEED = 3.0\ndef not_a_command(): pass\n")
    write(folder, "stage.py", "import _motors\ndef home(speed: float = _motors.SPEED): pass\n")
    report = describe(folder)
    assert [c["name"] for c in report["commands"]] == ["home"]
    assert report["commands"][0]["parameters"][0]["default"] == 3.0


@pytest.mark.parametrize("source, error", [
    ("def f(x: Annotated[float, (0, 1, 2)]): pass",
     "f: x: limits must be two numbers (low, high), e.g. (0, 800), or None for an open end; "
     "got (0, 1, 2)"),
    ("def f(x: Annotated[float, (5, 1)]): pass", "f: x: limits (5, 1) have low above high"),
    ("def f(x: Annotated[str, (0, 1)]): pass",
     "f: x: limits (0, 1) only apply to numbers, but the type is str"),
    ("def f(x: Annotated[float, 'mm', 'deg']): pass",
     "f: x: two units given ('mm' and 'deg'); keep one"),
    ("def f(x: 'Sample'): pass",
     "f: cannot read its type hints: NameError: name 'Sample' is not defined"),
    ("def f(x, /): pass", "f: parameter x is positional-only (before '/'); commands are called "
                          "with named arguments, so remove the '/'"),
])
def test_metadata_mistakes_are_errors_naming_command_and_parameter(tmp_path, source, error):
    path = write(tmp_path / "commands", "bad.py", "from typing import Annotated\n" + source)
    assert describe(tmp_path / "commands") == {"commands": [], "errors": {str(path): error}}


def test_a_broken_file_does_not_take_the_others_down(tmp_path):
    folder = tmp_path / "commands"
    write(folder, "a_good.py", "def wait(seconds: float): pass\n")
    broken = write(folder, "b_broken.py", "def f(:\n    pass\n")
    missing = write(folder, "c_import.py", "\nimport no_such_module_here\n")
    failing = write(folder, "d_raises.py", "x = 1\ny = x / 0\n")
    exits = write(folder, "e_exits.py", "import sys\nsys.exit(3)\n")
    write(folder, "z_good.py", "def count(seconds: float): pass\n")
    report = describe(folder)
    assert [c["name"] for c in report["commands"]] == ["count", "wait"]
    assert report["errors"] == {
        str(broken): "SyntaxError: invalid syntax (line 1)",
        str(missing): "ModuleNotFoundError: No module named 'no_such_module_here' (line 2)",
        str(failing): "ZeroDivisionError: division by zero (line 2)",
        str(exits): "SystemExit: 3 (line 2)",
    }


def test_duplicate_names_the_first_file_wins_and_the_later_gets_an_error(tmp_path):
    first = write(tmp_path / "site", "beam.py", "def set_ei(energy: float): pass\n")
    later = write(tmp_path / "local", "alpha.py",
                  "def set_ei(energy: int): pass\ndef other(): pass\n")
    report = describe(tmp_path / "site", tmp_path / "local")
    assert by_name(report)["set_ei"]["module"] == str(first)
    assert "other" in by_name(report)
    assert report["errors"] == {str(later): f"duplicate command 'set_ei': already defined in "
                                             f"{first}; this one is not used"}


def test_a_missing_folder_is_an_error(tmp_path):
    report = describe(tmp_path / "nowhere")
    assert report == {"commands": [], "errors": {str(tmp_path / "nowhere"):
                                                 "command folder not found"}}


IBEX_DEFINITION = '''
    from genie_python.genie_script_generator import ScriptDefinition, cast_parameters_to, CopyPreviousRow


    class DoRun(ScriptDefinition):
        @cast_parameters_to(temperature=float, uamps=int)
        def run(self, temperature=CopyPreviousRow(1.0), uamps=5, label="sample"):
            """Take one run.

            Args:
                temperature: Sample temperature in K.
            """

        @cast_parameters_to(temperature=float, uamps=int)
        def parameters_valid(self, temperature=1.0, uamps=5, label="sample"):
            return None if temperature < 300 else "too hot"

        def estimate_time(self, temperature=1.0, uamps=5, label="sample"):
            return uamps * 60

        def get_help(self):
            return "Take a run at a temperature."
'''


def test_an_ibex_script_definition_is_a_command_named_after_its_file(tmp_path):
    path = write(tmp_path / "commands", "do_run.py", IBEX_DEFINITION)
    report = describe(tmp_path / "commands")
    assert report["errors"] == {}
    (do_run,) = report["commands"]
    assert do_run["name"] == "do_run" and do_run["kind"] == "script_definition"
    assert do_run["summary"] == "Take a run at a temperature."
    assert do_run["module"] == str(path) and do_run["has_estimate"] is True
    assert [(p["name"], p["type"], p["default"], p["required"]) for p in do_run["parameters"]] \
        == [("temperature", "float", 1.0, False), ("uamps", "int", 5, False),
            ("label", "str", "sample", False)]
    assert do_run["parameters"][0]["description"] == "Sample temperature in K."


def test_a_script_definition_without_genie_python_and_without_an_estimate(tmp_path):
    write(tmp_path / "commands", "scan-run.py", '''
        class DoRun:
            """Scan."""
            def run(self, start="0"): pass
            def parameters_valid(self, start="0"): return None
    ''')
    write(tmp_path / "commands", "tune.py", '''
        class Tune:
            """Tune the beam."""
            def run(self, start="0"): pass
            def parameters_valid(self, start="0"): return None
        def not_a_command(): pass
    ''')
    report = describe(tmp_path / "commands")
    assert [c["name"] for c in report["commands"]] == ["tune"]
    assert report["commands"][0]["has_estimate"] is False
    assert report["commands"][0]["summary"] == "Tune the beam."
    (error,) = report["errors"].values()
    assert error == ("scan-run.py: a script definition's command is named after its file, and "
                     "'scan-run' is not a valid name; rename the file, e.g. scan_run.py")


def test_the_describe_subprocess_prints_json_even_when_files_print(tmp_path):
    folder = tmp_path / "commands"
    write(folder, "noisy.py", "print('hello from import')\ndef wait(seconds: float): pass\n")
    write(folder, "broken.py", "def f(:\n")
    done = subprocess.run([sys.executable, "-m", "scriptserver.commands.describe", str(folder)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    report = json.loads(done.stdout)
    assert [c["name"] for c in report["commands"]] == ["wait"]
    assert list(report["errors"]) == [str(folder / "broken.py")]
    assert "hello from import" in done.stderr


def test_the_demo_commands_describe_cleanly():
    report = describe(DEMO_COMMANDS)
    assert report["errors"] == {}
    commands = by_name(report)
    assert {"set_ei", "move", "count", "wait", "do_run"} <= set(commands)
    assert params(commands["set_ei"])["energy"]["units"] == "meV"
    assert params(commands["set_ei"])["energy"]["limits"] is not None
    assert params(commands["move"])["axis"]["allowed"]
    assert all(c["has_estimate"] for c in commands.values())
    assert commands["do_run"]["kind"] == "script_definition"
