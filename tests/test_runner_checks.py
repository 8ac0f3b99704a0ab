"""A script job is checked again just before it runs, unless nothing it was checked
against has changed since it was queued (the IOC then tells the job process, which
skips the same pyflakes run): a command removed meanwhile still fails the job, with
the check's words; a job queued after the change runs."""
from __future__ import annotations

from ca import put_checked
from conftest import add, wait_for, write
from test_ioc_commands import names, output_of
from test_ioc_control import ended

GREET = '''\
    def greet(name: str) -> None:
        """Say hello."""
        print("hello", name)
    '''


def test_a_queued_script_whose_command_went_away_fails_when_it_runs(make_ioc, tmp_path):
    folder = tmp_path / "commands"
    write(folder, "greeting.py", GREET)
    ioc = make_ioc(commands=folder).start()
    (unchanged,) = add(ioc, {"script": "greet('Ada')\n"})
    put_checked(ioc.pv("QUEUE:START"), 1)             # checked when queued, nothing changed
    assert output_of(ioc, unchanged) == "hello Ada\n"

    (stale,) = add(ioc, {"script": "greet('Bob')\n"})  # the queue stopped: it waits
    write(folder, "greeting.py", GREET.replace("greet(", "hallo("))
    wait_for(lambda: names(ioc) == ["hallo"], what="the renamed command")
    put_checked(ioc.pv("QUEUE:START"), 1)
    run = ended(ioc, stale, "failed")
    # the check's words (not the NameError the script itself would have raised)
    assert "undefined name 'greet'" in run["error"], run["error"]

    (fresh,) = add(ioc, {"script": "hallo('Cy')\n"})
    put_checked(ioc.pv("QUEUE:START"), 1)
    assert output_of(ioc, fresh) == "hello Cy\n"
