"""The spare job process: forked ahead from the warm fork server, handed one job, replaced.

Through a real IOC and real CA clients: a job runs in the spare (its own session and
process group, signals reset, no longer named a spare), each spare is used once, one
that died is never used, the sweep of an aborted job leaves the spare alone, and a
command reload leaves no spare of the old fork server. The Spare class's own refusal
of a dead process is shown on its own, in a process of its own (it forks).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from ca import put_checked
from conftest import add, wait_for
from faults import all_gone, job_pids, running, spawning_job
from scriptserver.runner import tree
from test_ioc_control import ended

WHO_AM_I = """\
import json, os, signal
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines()
              if line.startswith(("SigBlk", "SigIgn")))
json.dump({{"pid": os.getpid(), "pgid": os.getpgid(0), "sid": os.getsid(0),
           "ppid": os.getppid(), "name": open("/proc/self/comm").read().strip(),
           "blocked": int(status["SigBlk"], 16)}}, open({path!r}, "w"))
"""


def who_am_i(path: Path) -> dict:
    return {"name": "who am i", "script": WHO_AM_I.format(path=str(path))}


def the_launcher(ioc) -> int:
    (launcher,) = wait_for(lambda: ioc.launchers() if len(ioc.launchers()) == 1 else None,
                           what="one fork server")
    return launcher


def spares(launcher: int) -> list[int]:
    return [pid for pid in tree.children(launcher) if tree.is_spare(pid) and running(pid)]


def the_spare(launcher: int, not_one_of: tuple[int, ...] = ()) -> int:
    """The fork server's spare, once there is one (and not one of ``not_one_of``)."""
    found = wait_for(lambda: [p for p in spares(launcher) if p not in not_one_of],
                     what=f"a spare job process of fork server {launcher}")
    assert len(found) == 1, f"more than one spare: {found}"
    return found[0]


def run_and_read(ioc, path: Path) -> dict:
    (job,) = add(ioc, who_am_i(path))
    put_checked(ioc.pv("QUEUE:START"), 1)            # it stops again once it runs out
    ended(ioc, job)
    return json.loads(path.read_text())


def test_a_job_runs_in_the_spare_in_its_own_group_and_each_spare_is_used_once(ioc, tmp_path):
    launcher = the_launcher(ioc)
    first_spare = the_spare(launcher)
    first = run_and_read(ioc, tmp_path / "first.json")
    assert first["pid"] == first_spare
    assert first["pgid"] == first["sid"] == first["pid"], first   # its own session and group
    assert first["ppid"] == launcher
    assert first["name"] == tree.name(launcher) != tree.SPARE_NAME
    assert first["blocked"] == 0, "the job started with signals blocked"

    second_spare = the_spare(launcher, not_one_of=(first_spare,))
    second = run_and_read(ioc, tmp_path / "second.json")
    assert second["pid"] == second_spare != first["pid"]
    assert second["pgid"] == second["sid"] == second["pid"]
    the_spare(launcher, not_one_of=(first_spare, second_spare))    # and the next is there


def test_a_spare_that_died_is_never_used_and_is_replaced(ioc, tmp_path):
    launcher = the_launcher(ioc)
    dead = the_spare(launcher)
    os.kill(dead, signal.SIGKILL)
    job = run_and_read(ioc, tmp_path / "job.json")    # whether the fork server saw it die or not
    assert job["pid"] != dead
    assert job["pgid"] == job["sid"] == job["pid"]
    the_spare(launcher, not_one_of=(dead, job["pid"]))


def test_the_sweep_of_an_aborted_job_leaves_the_spare_alone(ioc, tmp_path):
    launcher = the_launcher(ioc)
    (job,) = add(ioc, spawning_job(tmp_path))
    put_checked(ioc.pv("QUEUE:START"), 1)
    pids = job_pids(tmp_path)                         # the job, a child, one in its own session
    spare = the_spare(launcher, not_one_of=tuple(pids))
    put_checked(ioc.pv("JOB:ABORT"), 1)
    ended(ioc, job, "aborted")
    all_gone(pids)
    assert running(spare) and tree.is_spare(spare), "the abort's sweep killed the spare"
    put_checked(ioc.pv("QUEUE:REMOVE"), str(job))   # the aborted job went back to the head
    after = run_and_read(ioc, tmp_path / "after.json")
    assert after["pid"] == spare


def test_a_command_reload_leaves_no_spare_with_the_old_modules(ioc, tmp_path):
    old_launcher = the_launcher(ioc)
    old_spare = the_spare(old_launcher)
    put_checked(ioc.pv("COMMANDS:RELOAD"), 1)         # completes with the new fork server ready
    new_launcher = wait_for(lambda: [p for p in ioc.launchers() if p != old_launcher],
                            what="a new fork server")[0]
    all_gone([old_spare, old_launcher])
    new_spare = the_spare(new_launcher)
    job = run_and_read(ioc, tmp_path / "job.json")
    assert job["pid"] == new_spare and job["ppid"] == new_launcher


def test_without_a_spare_each_job_is_forked_as_it_starts(make_ioc, tmp_path):
    ioc = make_ioc(extra_config="spare_process: false\n").start()
    launcher = the_launcher(ioc)
    job = run_and_read(ioc, tmp_path / "job.json")
    assert job["pgid"] == job["sid"] == job["pid"] and job["ppid"] == launcher
    assert not spares(launcher)


SPARE_DIES = """
import json, os, signal, time
from scriptserver.runner import spare

def fork(run):
    pid = os.fork()
    if pid == 0:
        run()
    return pid

def exits_at_once(keep_out, sock):
    os._exit(0)                              # a spare that dies before it is given a job

spares = spare.Spare(fork, exits_at_once)
spares.make([])
dead = spares.pid
while open(f"/proc/{dead}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
    time.sleep(0.001)                        # exited, and not reaped yet
r, w = os.pipe()
before = time.monotonic()
handed = spares.hand_over([r, w])
was_spare = spares.reaped(os.waitpid(dead, 0)[0])
print(json.dumps({"handed": handed, "reaped_as_spare": was_spare, "spare_now": spares.pid,
                  "waits": spares.due - before >= spare.FIRST_DELAY}))
"""


def test_a_spare_found_dead_when_handed_a_job_is_not_used():
    """hand_over to a spare that has exited but is not reaped yet: None (fork one fresh),
    and the next spare waits a little, as one that died young."""
    done = subprocess.run([sys.executable, "-c", SPARE_DIES], capture_output=True, text=True,
                          timeout=60, start_new_session=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result == {"handed": None, "reaped_as_spare": False, "spare_now": 0,
                      "waits": True}, result
