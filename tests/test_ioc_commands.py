"""Issue 3 end to end: commands described over PVs, validated on submission, reloaded live."""
import json
import os
import textwrap
import zlib

import pytest
from caproto import ErrorResponseReceived

from ca import get, get_json, get_value, put_checked, refusal
from conftest import IOC, add, wait_for


def names(ioc):
    return get_json(ioc.pv("COMMANDS:NAMES")) or []


def output_of(ioc, job_id):
    def done():
        put_checked(ioc.pv("QUEUE:GET"), str(job_id))
        record = get_json(ioc.pv("QUEUE:GET:RESULT"))
        return record["id"] == job_id and record["runs"] and \
            record["runs"][-1]["status"] != "running" and record["runs"][-1]
    return wait_for(done, timeout=20)["output"]


def test_commands_are_described_over_pvs(ioc):
    commands = {c["name"]: c for c in get_json(ioc.pv("COMMANDS"))}
    assert {"set_ei", "move", "count", "wait", "do_run"} <= set(commands)
    assert names(ioc) == sorted(commands)
    (energy,) = commands["set_ei"]["parameters"]
    assert energy["name"] == "energy" and energy["type"] == "float" and energy["required"]
    assert energy["units"] == "meV" and energy["limits"] == [0.5, 800]
    assert energy["description"]
    assert commands["set_ei"]["summary"] and commands["set_ei"]["has_estimate"]
    assert commands["set_ei"]["module"].endswith("beam.py")
    axis = commands["move"]["parameters"][0]
    assert axis["allowed"] and "sample_x" in axis["allowed"]
    assert commands["do_run"]["kind"] == "script_definition"
    hexed = json.loads(zlib.decompress(bytes.fromhex(get(ioc.pv("COMMANDS:HEX")))))
    assert hexed == get_json(ioc.pv("COMMANDS"))
    assert get_json(ioc.pv("COMMANDS:ERRORS")) == {}


@pytest.fixture(scope="module")
def refusing_ioc(tmp_path_factory):
    """One IOC for every refused call: nothing is ever queued on it."""
    server = IOC(tmp_path_factory.mktemp("refusals")).start()
    yield server
    server.stop()


@pytest.mark.parametrize("job,message", [
    ({"command": "set_ei", "args": {}}, "energy"),
    ({"command": "set_ei", "args": {"energy": 10, "energyy": 2}}, "energyy"),
    ({"command": "set_ei", "args": {"energy": "abc"}}, "energy must be a number"),
    ({"command": "set_ei", "args": {"energy": 900}}, "between 0.5 and 800 meV"),
    ({"command": "move", "args": {"axis": "theta", "position": 1}}, "sample_x"),
    ({"command": "set_e", "args": {"energy": 1}}, "did you mean 'set_ei'"),
])
def test_bad_command_calls_are_refused_when_queued(refusing_ioc, job, message):
    ioc = refusing_ioc
    error_before = get(ioc.pv("ERROR"))
    with pytest.raises(ErrorResponseReceived) as refused:
        put_checked(ioc.pv("QUEUE:ADD"), job)
    words = refusal(refused)
    assert message in words
    # ERROR shows THIS refusal (the cases differ, so an unchanged ERROR would show)
    assert get(ioc.pv("ERROR")) == f"QUEUE:ADD: {words}" != error_before
    assert get_value(ioc.pv("QUEUE:LEN")) == 0


GREET = '''\
    def greet(name: str) -> None:
        """Say hello."""
        print("hello", name)
    '''


def write_command(folder, name, body):
    (folder / f"{name}.py").write_text(textwrap.dedent(body))


def test_command_files_are_reloaded_live_and_new_jobs_use_the_new_code(make_ioc, tmp_path):
    folder = tmp_path / "commands"
    folder.mkdir()
    write_command(folder, "greeting", '''\
        def greet(name: str) -> None:
            """Say hello."""
            print("hello", name)
        ''')
    ioc = make_ioc(commands=folder).start()
    assert names(ioc) == ["greet"]

    write_command(folder, "extra", '''\
        def shout(text: str) -> None:
            """Say it loudly."""
            print(text.upper())
        ''')
    wait_for(lambda: names(ioc) == ["greet", "shout"], what="a new file to appear")

    write_command(folder, "greeting", '''\
        def greet(name: str, times: int = 1) -> None:
            """Say hello, in French now."""
            print("bonjour", name)
        ''')
    wait_for(lambda: any(len(c["parameters"]) == 2 for c in get_json(ioc.pv("COMMANDS"))
                         if c["name"] == "greet"), what="an edit to show")
    (job_id,) = add(ioc, {"command": "greet", "args": {"name": "Ada", "times": 2}})
    put_checked(ioc.pv("QUEUE:START"), 1)
    assert output_of(ioc, job_id) == "bonjour Ada\n"      # the new code, not the warm parent's

    (folder / "greeting.py").write_text("def greet(name: str:\n")
    wait_for(lambda: "greeting.py" in json.dumps(get_json(ioc.pv("COMMANDS:ERRORS"))),
             what="the syntax error to be published")
    assert "SyntaxError" in json.dumps(get_json(ioc.pv("COMMANDS:ERRORS")))
    assert "greet" in names(ioc)                          # last good version stays listed

    (folder / "extra.py").unlink()
    wait_for(lambda: "shout" not in names(ioc), what="a deleted file's commands to go")

    # COMMANDS:RELOAD: an edit the folder watch cannot see (same name, size and
    # modification time, which is all it compares) appears only because of the reload
    greeting = folder / "greeting.py"
    write_command(folder, "greeting", GREET)
    wait_for(lambda: get_json(ioc.pv("COMMANDS:ERRORS")) == {}, what="the fixed file to load")
    before = greeting.stat()
    hidden = folder / "greeting.new"                  # not *.py: the watch ignores it
    hidden.write_text(textwrap.dedent(GREET).replace("greet(", "hallo("))
    os.utime(hidden, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(hidden, greeting)
    after = greeting.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert names(ioc) == ["greet"]
    put_checked(ioc.pv("COMMANDS:RELOAD"), 1)         # completes once the folders are re-read
    assert names(ioc) == ["hallo"]
    (job_id,) = add(ioc, {"command": "hallo", "args": {"name": "Ada"}})
    put_checked(ioc.pv("QUEUE:START"), 1)             # it stopped when it ran out of jobs
    assert output_of(ioc, job_id) == "hello Ada\n"    # the job launcher was renewed too


def test_validate_checks_and_estimates_without_queueing(ioc):
    put_checked(ioc.pv("VALIDATE"), [{"command": "wait", "args": {"seconds": 2}}, {"script": "pass"}])
    verdict = wait_for(lambda: get_json(ioc.pv("VALIDATE:RESULT")))
    assert verdict["valid"] is True
    assert [(j["estimate"], j["estimate_source"]) for j in verdict["jobs"]] == \
        [(2.0, "command"), (None, "unknown")]
    put_checked(ioc.pv("VALIDATE"), {"command": "set_ei", "args": {"energy": 5000}})
    wait_for(lambda: get_json(ioc.pv("VALIDATE:RESULT"))["valid"] is False)
    assert "between 0.5 and 800" in get_json(ioc.pv("VALIDATE:RESULT"))["error"]
    assert get_value(ioc.pv("QUEUE:LEN")) == 0
