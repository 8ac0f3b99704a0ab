"""The command library (IOC side): real command folders, real describe/estimate subprocesses."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from scriptserver.commands.library import CommandLibrary
from scriptserver.jobs.errors import RequestRefused

from conftest import DEMO_COMMANDS, write


def refresh(library: CommandLibrary) -> bool:
    return asyncio.run(library.refresh())


@pytest.fixture
def folder(tmp_path) -> Path:
    path = tmp_path / "commands"
    path.mkdir()
    return path


def test_the_demo_instrument(tmp_path):
    library = CommandLibrary([DEMO_COMMANDS])
    assert library.changed()
    assert refresh(library) is True
    assert library.errors() == {}
    assert {"set_ei", "move", "count", "wait", "do_run"} <= set(library.names())
    assert [d["name"] for d in library.describe()] == library.names()
    assert not library.changed()
    assert refresh(library) is False  # nothing changed
    assert library.check_call("set_ei", {"energy": 25}) == {"energy": 25.0}


def test_unknown_commands_and_bad_calls_are_refused(folder):
    write(folder, "beam.py", "def set_ei(energy: float): pass\n")
    library = CommandLibrary([folder])
    refresh(library)
    with pytest.raises(RequestRefused, match=r"^unknown command 'set_e'; did you mean 'set_ei'\?$"):
        library.get("set_e")
    with pytest.raises(RequestRefused, match=r"^set_ei: energy must be a number, not 'abc'$"):
        library.check_call("set_ei", {"energy": "abc"})


def test_adding_editing_and_deleting_files_is_detected(folder):
    library = CommandLibrary([folder])
    assert refresh(library) is False  # an empty folder: nothing to describe
    assert not library.changed()

    beam = write(folder, "beam.py", "def set_ei(energy: float): pass\n")
    assert library.changed()
    assert refresh(library) is True
    assert library.names() == ["set_ei"]

    write(folder, "beam.py", "def set_ei(energy: float, fast: bool = False): pass\n")
    assert library.changed()
    assert refresh(library) is True
    assert [p["name"] for p in library.get("set_ei")["parameters"]] == ["energy", "fast"]

    write(folder, "motion.py", "def move(axis: str, position: float): pass\n")
    assert library.changed() and refresh(library)
    assert library.names() == ["move", "set_ei"]

    beam.unlink()
    assert library.changed()
    assert refresh(library) is True
    assert library.names() == ["move"]
    with pytest.raises(RequestRefused):
        library.get("set_ei")


def test_an_edit_to_a_helper_file_is_a_change_too(folder):
    write(folder, "_motors.py", "SPEED = 1\n")
    library = CommandLibrary([folder])
    refresh(library)
    write(folder, "_motors.py", "SPEED = 22\n")
    assert library.changed()


def test_a_broken_file_keeps_its_last_good_commands_and_publishes_the_error(folder):
    beam = write(folder, "beam.py", "def set_ei(energy: float): pass\n")
    write(folder, "timing.py", "def wait(seconds: float): pass\n")
    library = CommandLibrary([folder])
    refresh(library)

    write(folder, "beam.py", "def set_ei(energy: float):\n    pass\n\ndef broken(:\n")
    assert library.changed() and refresh(library) is True
    assert library.names() == ["set_ei", "wait"]  # the last good set_ei stays
    assert library.check_call("set_ei", {"energy": 1}) == {"energy": 1.0}
    assert library.errors() == {str(beam): "SyntaxError: invalid syntax (line 4) (still listing "
                                           "set_ei from the last good version; fix the file to "
                                           "run them)"}

    write(folder, "beam.py", "def set_ei(energy: float, fast: bool = False): pass\n")
    assert refresh(library) is True
    assert library.errors() == {}
    assert len(library.get("set_ei")["parameters"]) == 2


def test_a_file_broken_from_the_start_only_has_its_error(folder):
    broken = write(folder, "beam.py", "import no_such_module_here\n")
    library = CommandLibrary([folder])
    refresh(library)
    assert library.names() == []
    assert library.errors() == {
        str(broken): "ModuleNotFoundError: No module named 'no_such_module_here' (line 1)"}


def test_duplicate_command_names(tmp_path):
    first = write(tmp_path / "site", "beam.py", "def set_ei(energy: float): pass\n")
    later = write(tmp_path / "local", "beam.py", "def set_ei(energy: int): pass\n")
    library = CommandLibrary([tmp_path / "site", tmp_path / "local"])
    refresh(library)
    assert library.get("set_ei")["module"] == str(first)
    assert library.errors() == {str(later): f"duplicate command 'set_ei': already defined in "
                                            f"{first}; this one is not used"}


def test_a_missing_folder_is_reported_and_its_creation_detected(tmp_path):
    library = CommandLibrary([tmp_path / "later"])
    refresh(library)
    assert library.errors() == {str(tmp_path / "later"): "command folder not found"}
    write(tmp_path / "later", "timing.py", "def wait(seconds: float): pass\n")
    assert library.changed() and refresh(library)
    assert library.names() == ["wait"] and library.errors() == {}


def test_a_hanging_import_times_out_without_hanging_the_library(folder):
    write(folder, "beam.py", "def set_ei(energy: float): pass\n")
    hanging = write(folder, "stuck.py", "import threading\nthreading.Event().wait()\n"
                                        "def never(): pass\n")
    write(folder, "timing.py", "def wait(seconds: float): pass\n")
    # limits roomy enough for a loaded machine to describe the good files in time
    library = CommandLibrary([folder], timeout=2.0, file_timeout=1.5)
    # the import never returns: a library that waited for it would never return either
    # (how long the refresh takes is a figure: `python -m benchmarks --only library`)
    assert asyncio.run(asyncio.wait_for(library.refresh(), 60)) is True
    assert library.names() == ["set_ei", "wait"]
    assert library.errors() == {str(hanging): "import took longer than 1.5 s"}


def test_a_file_that_kills_the_describe_process_is_named(folder):
    write(folder, "beam.py", "def set_ei(energy: float): pass\n")
    killer = write(folder, "killer.py", "import os\nos._exit(9)\n")
    library = CommandLibrary([folder])
    refresh(library)
    assert library.names() == ["set_ei"]
    assert library.errors()[str(killer)].startswith("describing this file failed: exit code 9")


ESTIMATES = '''
    def set_ei(energy: float):
        """Set the energy."""

    def estimate_set_ei(energy):
        return 1 + energy / 100

    def count(seconds: float, detectors: list[str] = ["main"]):
        """Count."""

    def estimate_count(seconds):          # takes a subset of count's parameters
        return seconds + 0.5

    def wait(seconds: float):
        """No estimate."""

    def home(axis: str):
        """Its estimate fails."""

    def estimate_home(axis):
        raise RuntimeError("no idea")

    def scan(points: int):
        """Its estimate is not a number."""

    def estimate_scan(points):
        return "soon"
'''

DO_RUN = '''
    from genie_python.genie_script_generator import ScriptDefinition, cast_parameters_to


    class DoRun(ScriptDefinition):
        @cast_parameters_to(temperature=float, uamps=float)
        def run(self, temperature=1.0, uamps=5.0):
            pass

        @cast_parameters_to(temperature=float, uamps=float)
        def parameters_valid(self, temperature=1.0, uamps=5.0):
            return None if temperature < 300 else f"temperature {temperature} K is too hot"

        @cast_parameters_to(temperature=float, uamps=float)
        def estimate_time(self, temperature=1.0, uamps=5.0):
            return uamps * 60
'''


def test_estimates_for_a_batch_of_calls_in_one_subprocess(folder):
    write(folder, "commands.py", ESTIMATES)
    write(folder, "do_run.py", DO_RUN)
    library = CommandLibrary([folder])
    refresh(library)
    assert library.errors() == {}
    calls = [("set_ei", {"energy": 50}), ("count", {"seconds": 10, "detectors": ["a"]}),
             ("wait", {"seconds": 1}), ("home", {"axis": "x"}), ("scan", {"points": 3}),
             ("nope", {}), ("set_ei", {"energy": "abc"}),
             ("do_run", {"uamps": 2}), ("do_run", {}), ("do_run", {"temperature": "400"})]
    assert asyncio.run(library.estimate(calls)) == \
        [1.5, 10.5, None, None, None, None, None, 120.0, 300.0, None]
    assert asyncio.run(library.estimate([])) == []


def test_script_definitions_are_checked_for_types_only_in_the_library(folder):
    write(folder, "do_run.py", DO_RUN)
    library = CommandLibrary([folder])
    refresh(library)
    # parameters_valid is instrument code: it runs in the job process, not here
    assert library.check_call("do_run", {"temperature": 500}) == {"temperature": 500.0}
    with pytest.raises(RequestRefused, match="^do_run: temperature must be a number, not 'hot'$"):
        library.check_call("do_run", {"temperature": "hot"})


def test_changed_looks_at_sizes_and_modification_times(folder):
    beam = write(folder, "beam.py", "def set_ei(energy: float): pass\n")
    library = CommandLibrary([folder])
    refresh(library)
    status = beam.stat()
    beam.write_text(beam.read_text())  # saved again, unchanged
    os.utime(beam, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert not library.changed()
    os.utime(beam, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000))
    assert library.changed()
