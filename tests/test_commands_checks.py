"""Static checks of scripts and what commands declare: pure, no processes (issue 12)."""
from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import pytest

from scriptserver.commands.checks import check_script, definition_calls, main_problems
from scriptserver.commands.declared import declarations
from scriptserver.commands.script_main import main_description, runs_main
from scriptserver.jobs import phases
from scriptserver.jobs.tags import has_pause_points

from conftest import write


def parameter(name, type_="float", required=True, default=None, units=None, limits=None,
              allowed=None):
    return {"name": name, "type": type_, "default": default, "required": required,
            "units": units, "limits": limits, "allowed": allowed, "description": ""}


COMMANDS = {
    "set_ei": {"name": "set_ei", "kind": "function", "pausable": True,
               "parameters": [parameter("energy", units="meV", limits=[0.5, 800])]},
    "move": {"name": "move", "kind": "function", "pausable": False,
             "parameters": [parameter("axis", "Literal", allowed=["x", "y"]),
                            parameter("position", limits=[-50, 50])]},
    "do_run": {"name": "do_run", "kind": "script_definition",
               "parameters": [parameter("temperature", required=False, default=300.0)]},
}


def problems(source, params=None):
    return [(p.line, p.text) for p in check_script(textwrap.dedent(source), COMMANDS,
                                                    params).problems]


def test_three_mistakes_are_all_found_with_their_lines():
    assert problems("""\
        set_ei(2000)
        move(axis="z", position=1)
        print(undefined_thing)
        """) == [(1, "set_ei: energy must be between 0.5 and 800 meV, not 2000"),
                 (2, "move: axis must be one of 'x', 'y', not 'z'"),
                 (3, "undefined name 'undefined_thing'")]


def test_a_syntax_error_stops_the_checks_and_names_its_line():
    assert problems("x = 1\nfor y in\n") == [(2, "syntax error: invalid syntax")]


def test_misspelt_commands_and_arguments_get_did_you_mean():
    assert problems("set_e(25)\nset_ei(enrgy=25)\n") == [
        (1, "unknown command 'set_e'; did you mean 'set_ei'?"),
        (2, "set_ei: unexpected argument 'enrgy'; did you mean 'energy'?")]


def test_arguments_known_only_when_run_are_not_judged_but_the_literal_ones_are():
    assert problems("e = 30\nset_ei(energy=e)\nmove('x', position=e)\nmove('q', e)\n") == \
        [(4, "move: axis must be one of 'x', 'y', not 'q'")]
    assert problems("set_ei(1, 2)\n") == [(1, "set_ei: takes at most 1 argument(s), 2 given")]
    assert problems("set_ei()\n") == [(1, "set_ei: missing argument energy (float in meV, "
                                          "between 0.5 and 800)")]


def test_a_name_the_script_binds_itself_is_not_the_command():
    assert problems("def move(where):\n    return where\nmove('anywhere')\n") == []
    assert problems("from elsewhere import set_ei\nset_ei('high')\n") == []


def test_params_and_unused_imports_are_fine_or_warnings_only():
    found = check_script("import os\nprint(params['n'], __file__)\n", COMMANDS)
    assert found.problems == [] and [w.text for w in found.warnings] == \
        ["'os' imported but unused"]


def test_ibex_definition_calls_with_literal_arguments_are_listed_for_parameters_valid():
    tree = ast.parse("do_run(temperature=1000)\nt = 5\ndo_run(temperature=t)\n")
    assert definition_calls(tree, COMMANDS) == [(1, "do_run", {"temperature": 1000})]


MAIN = """\
from typing import Annotated, Literal, Optional

def main(energy: Annotated[float, "meV", (0.5, 800)], mode: Literal["fast", "slow"] = "fast",
         repeats: int = 1, note: Optional[str] = None):
    pass
"""


def test_main_is_described_like_a_command_and_params_checked_with_the_same_words():
    tree = ast.parse(MAIN)
    described = {p["name"]: p for p in main_description(tree)["parameters"]}
    assert described["energy"]["limits"] == [0.5, 800] and described["energy"]["units"] == "meV"
    assert described["mode"]["allowed"] == ["fast", "slow"]
    assert described["note"]["type"] == "str | None" and not described["note"]["required"]
    assert main_problems(tree, {"energy": 25, "mode": "slow", "note": None}) == []
    words = [p.text for p in main_problems(tree, {"energy": 900, "mode": "quick"})]
    assert words == ["main: energy must be between 0.5 and 800 meV, not 900; mode must be one "
                     "of 'fast', 'slow', not 'quick'"]
    assert [p.line for p in main_problems(tree, {})] == [3]


def test_main_is_called_by_the_server_only_when_the_script_does_not_call_it():
    assert runs_main(ast.parse("def main(n: int):\n    pass\n"))
    assert not runs_main(ast.parse("def main():\n    pass\n"))        # takes nothing
    assert not runs_main(ast.parse("def main(n: int):\n    pass\nmain(3)\n"))
    assert not runs_main(ast.parse(
        "def main(n=1):\n    pass\nif __name__ == '__main__':\n    main()\n"))
    assert main_problems(ast.parse("def main(*args):\n    pass\n"), {})[0].text.startswith(
        "main must list its parameters by name")


def test_a_comment_mentioning_pause_point_is_not_a_pause_point():
    assert not has_pause_points("# we could call pause_point() here\nx = 'pause_point'\n")
    assert has_pause_points("from scriptserver.jobs.api import pause_point\npause_point()\n")
    assert has_pause_points("import scriptserver.jobs.api as api\napi.pause_point()\n")
    assert has_pause_points("for i in range(3):\n    # pause\n    pass\n")


def test_a_script_calling_a_pausable_command_is_pausable(tmp_path):
    from scriptserver.commands.review import review
    from scriptserver.jobs.spec import parse_job

    class Library:
        def describe(self):
            return list(COMMANDS.values())
    found = review(parse_job({"script": "set_ei(25)\nmove('x', 1)\n"}), Library(), None)
    assert found.details["pausable"] is True and found.problems == []
    found = review(parse_job({"script": "move('x', 1)\n"}), Library(), None)
    assert found.details["pausable"] is False


def test_what_a_command_declares_is_read_from_its_calls_including_helpers(tmp_path):
    path = write(tmp_path, "stage.py", '''
        from scriptserver.jobs.api import is_dry_run, pause_point

        def careful(n: int):
            """Pauses in its helper, says what it does in a dry run."""
            for _ in range(n):
                _step()
            if is_dry_run():
                return

        def _step():
            pause_point()

        def blunt():
            """pause_point() and is_dry_run() mentioned only in words."""
            # pause_point()
            return "is_dry_run"
        ''')
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    assert declarations(namespace["careful"], path) == {"pausable": True, "simulated": True}
    assert declarations(namespace["blunt"], path) == {"pausable": False, "simulated": False}


def test_phases_remember_plan_order_state_and_time():
    phase_list = phases.PhaseList()
    phase_list.plan([("align", 30), "count"])
    phase_list.start("align", None, now=100.0)
    assert phases.current(phase_list.as_list(110.0)) == "align"
    assert phases.remaining(phase_list.as_list(110.0), 110.0) is None   # count has no estimate
    phase_list.end("align", failed=False, now=125.0)
    phase_list.start("count", 60, now=125.0)
    shown = phase_list.as_list(145.0)
    assert [(p["name"], p["state"], p["actual"]) for p in shown] == [
        ("align", "finished", 25.0), ("count", "running", 20.0)]
    assert phases.remaining(shown, 145.0) == 40.0
    # 15 of the 20 s since count started were spent paused: they are not time in the phase
    assert phases.remaining(shown, 145.0, lambda since: 15.0 if since == 125.0 else 0.0) == 55.0
    phase_list.end("count", failed=True, now=150.0)
    assert phase_list.as_list(150.0)[1]["state"] == "failed" and phases.current(
        phase_list.as_list(150.0)) == ""


def test_the_simulated_clock_sleeps_instantly_and_counts_what_was_slept():
    code = textwrap.dedent("""
        import time
        from scriptserver.runner.simclock import SimulatedClock
        clock = SimulatedClock()
        real = clock.real["monotonic"]()
        clock.install()
        t0, w0 = time.monotonic(), time.time()
        time.sleep(3600)
        assert 3600 <= time.monotonic() - t0 < 3601 and 3600 <= time.time() - w0 < 3601
        assert clock.real["monotonic"]() - real < 5            # no real hour went by
        print(round(clock.elapsed()))
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3600"


@pytest.mark.parametrize("source", ["", "x = (\n"])
def test_unreadable_sources_declare_nothing(tmp_path, source):
    path = write(tmp_path, "broken.py", source)
    assert declarations(print, path) == {"pausable": False, "simulated": False}
