"""Every launched job ends with exactly one 'ended', whatever fails around it; the runner's
own failures are reported as 'error' events, not lost. The runner on its own, in a process
of its own (it makes that process a subreaper)."""
from __future__ import annotations

import json
import subprocess
import sys

RESTART_FAILS = """
import asyncio, json, sys
from scriptserver.runner.runner import JobRunner

async def main():
    events = []
    runner = JobRunner([], lambda kind, data: events.append((kind, data)), abort_grace=0.5)
    await runner.start()
    real_start = runner.start

    async def broken_start():
        raise OSError("no more processes")
    runner.start = broken_start                  # restarting the launcher will fail
    kills_launcher = {"job": {"id": 1, "kind": "script", "job": {"script":
        "import os, signal\\nos.kill(os.getppid(), signal.SIGKILL)\\nimport time\\ntime.sleep(30)\\n"}},
        "command_folders": []}
    await asyncio.wait_for(runner.launch(1, kills_launcher), 20)
    second = {"job": {"id": 2, "kind": "script", "job": {"script": "pass"}},
              "command_folders": []}
    await asyncio.wait_for(runner.launch(2, second), 20)     # no launcher, none can start
    runner.start = real_start
    third = {"job": {"id": 3, "kind": "script", "job": {"script": "pass"}},
             "command_folders": []}
    await asyncio.wait_for(runner.launch(3, third), 20)      # it recovers by itself
    print(json.dumps([[k, d.get("status"), d.get("error") or d.get("v")]
                      for k, d in events if k != "output"]))
    await runner.close()

asyncio.run(main())
"""


def test_a_failed_launcher_restart_still_ends_the_job_once_and_is_reported():
    done = subprocess.run([sys.executable, "-c", RESTART_FAILS], capture_output=True, text=True,
                          timeout=90, start_new_session=True)
    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout.splitlines()[-1])
    ended = [e for e in events if e[0] == "ended"]
    errors = [e for e in events if e[0] == "error"]
    assert [e[1] for e in ended] == ["failed", "failed", "finished"], events
    assert "fork server" in ended[0][2]
    assert "could not be started: no more processes" in ended[1][2]
    assert any("no more processes" in e[2] for e in errors), events


BESIDE_A_DRY_RUN = """
import asyncio, json, os, sys, time
from scriptserver.runner.runner import JobRunner
folder = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from faults import spawning_job, running

async def main():
    events = []
    runner = JobRunner([], lambda kind, data: events.append((kind, data)), abort_grace=0.5)
    await runner.start()
    job = {"job": {"id": 1, "kind": "script", "job": {"script": spawning_job(
        __import__("pathlib").Path(folder))["script"]}}, "command_folders": []}
    task = asyncio.ensure_future(runner.launch(1, job))
    pids = []
    deadline = time.monotonic() + 30
    while len(pids) < 3:                 # the job writes its three pids once it has them
        assert time.monotonic() < deadline, "the job never wrote its three pids"
        await asyncio.sleep(0.01)
        if os.path.exists(os.path.join(folder, "pids")):
            pids = [int(p) for p in open(os.path.join(folder, "pids")).read().split()]
    dry = {"job": {"id": 2, "kind": "script", "job": {"script": "import subprocess\\n"
           "subprocess.Popen(['sleep', '300'], start_new_session=True)\\n"}},
           "command_folders": []}
    outcome = await asyncio.wait_for(runner.dry_run(dry), 20)
    alive_after_dry_run = [running(p) for p in pids]
    runner.abort()
    await asyncio.wait_for(task, 20)
    print(json.dumps({"dry": outcome["status"], "alive_after_dry_run": alive_after_dry_run,
                      "alive_after_abort": [running(p) for p in pids]}))
    await runner.close()

asyncio.run(main())
"""


def test_a_dry_run_beside_the_job_sweeps_only_its_own_processes(tmp_path):
    """A dry run runs through the same fork server as the running job: its end must not
    kill the job's processes, the job's end must kill them all."""
    from conftest import REPO
    done = subprocess.run([sys.executable, "-c", BESIDE_A_DRY_RUN, str(tmp_path),
                           str(REPO / "tests")], capture_output=True, text=True, timeout=90,
                          start_new_session=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["dry"] == "finished"
    assert result["alive_after_dry_run"] == [True, True, True], result
    assert result["alive_after_abort"] == [False, False, False], result
