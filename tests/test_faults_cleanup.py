"""Cleanup always runs: on abort, and when the IOC is told to stop (SIGTERM, SIGINT, SIGHUP),
the job's finally: gets its grace, then everything it started is gone, including a child in a
session of its own; started with the signals procServ blocks, the same."""
from __future__ import annotations

import os
import signal
import subprocess

import pytest

from ca import get, put_checked
from conftest import wait_for
from faults import (all_gone, bit, block_like_procserv, cleaned_up, job_pids, signal_state,
                    spawning_job)
from test_ioc_control import add, ended, history, ids, wait_state


def test_abort_runs_finally_then_kills_a_grandchild_in_its_own_session(ioc, tmp_path):
    (job,) = add(ioc, spawning_job(tmp_path))
    put_checked(ioc.pv("QUEUE:START"), 1)
    pids = job_pids(tmp_path)
    put_checked(ioc.pv("JOB:ABORT"), 1)
    run = ended(ioc, job, "aborted")
    assert cleaned_up(tmp_path), "the job's finally: did not run"
    assert "aborted by the operator" in run["error"]
    all_gone(pids)
    assert ids(ioc) == [job]                         # back at the head


def stop_ioc(ioc, how: str) -> int:
    """Signal the IOC as ``how`` says and return its exit status."""
    if how == "Ctrl-C":                              # the terminal signals the foreground group
        os.killpg(ioc.process.pid, signal.SIGINT)
    else:
        ioc.process.send_signal(getattr(signal, how))
    return ioc.process.wait(20)


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C", "SIGHUP"])
def test_a_stop_signal_gives_the_job_its_cleanup_and_leaves_no_process(make_ioc, tmp_path, how):
    ioc = make_ioc().start()
    (job,) = add(ioc, spawning_job(tmp_path))
    put_checked(ioc.pv("QUEUE:START"), 1)
    pids = job_pids(tmp_path)
    launchers = ioc.launchers()
    assert stop_ioc(ioc, how) == 0, ioc.log_text()[-2000:]
    assert cleaned_up(tmp_path), "the job's finally: did not run"
    all_gone(pids + launchers)
    ioc.start()                                       # recorded, and back at the head
    run = history(ioc)[0]
    assert run["id"] == job and run["status"] == "aborted", run
    assert "the server was stopped" in run["error"]
    assert ids(ioc) == [job] and get(ioc.pv("QUEUE:STATE")) == "STOPPED"


def test_started_with_signals_blocked_as_procserv_does_jobs_still_clean_up(make_ioc, tmp_path):
    ioc = make_ioc().start(preexec_fn=block_like_procserv)
    blocked = signal_state(ioc.process.pid)["SigBlk"]
    assert not blocked & (bit(signal.SIGTERM) | bit(signal.SIGHUP)), "the IOC kept them blocked"
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    job1, job2 = add(ioc, [spawning_job(first), spawning_job(second)])
    put_checked(ioc.pv("QUEUE:START"), 1)
    pids = job_pids(first)
    state = signal_state(pids[0])
    assert state["SigBlk"] == 0, f"the job started with signals blocked: {state}"
    assert not state["SigIgn"] & (bit(signal.SIGTERM) | bit(signal.SIGHUP) | bit(signal.SIGINT))
    put_checked(ioc.pv("JOB:ABORT"), 1)
    ended(ioc, job1, "aborted")
    assert cleaned_up(first)
    all_gone(pids)
    put_checked(ioc.pv("QUEUE:START"), 1)                     # the aborted job is at the head again
    wait_for(lambda: (first / "pids").read_text() != " ".join(map(str, pids)), what="rerun")
    pids = job_pids(first)
    assert stop_ioc(ioc, "SIGTERM") == 0
    wait_for(lambda: cleaned_up(first), timeout=1, what="its cleanup")
    all_gone(pids)
    assert job2 not in [p for p in pids]


def test_a_job_that_kills_its_launcher_and_ignores_sigterm_is_gone_when_recorded(ioc, tmp_path):
    (job,) = add(ioc, spawning_job(tmp_path, ignore_sigterm=True, kill_parent=True))
    put_checked(ioc.pv("QUEUE:START"), 1)
    run = ended(ioc, job, "failed")
    assert "fork server" in run["error"], run
    pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
    all_gone(pids, timeout=0.5)                       # recorded ended: nothing of it runs
    (after,) = add(ioc, {"script": "pass", "name": "after"})
    put_checked(ioc.pv("QUEUE:START"), 1)                     # a new launcher runs the next job
    ended(ioc, after, "finished")


def test_kill_9_of_the_ioc_leaves_no_job_process_even_one_ignoring_sigterm(make_ioc, tmp_path):
    ioc = make_ioc().start()
    add(ioc, spawning_job(tmp_path, ignore_sigterm=True))
    put_checked(ioc.pv("QUEUE:START"), 1)
    wait_state(ioc, "RUNNING")
    pids = job_pids(tmp_path)
    launchers = ioc.launchers()
    ioc.kill()
    all_gone(pids + launchers, timeout=3)


def test_the_job_gets_a_short_cleanup_when_the_ioc_is_killed(make_ioc, tmp_path):
    ioc = make_ioc().start()
    add(ioc, spawning_job(tmp_path, cleanup_takes=0.05))
    put_checked(ioc.pv("QUEUE:START"), 1)
    pids = job_pids(tmp_path)
    ioc.kill()
    all_gone(pids, timeout=3)
    assert cleaned_up(tmp_path), "a short finally: runs even on kill -9 of the IOC"


def test_ctrl_c_in_a_terminal_leaves_no_job_process(make_ioc, tmp_path):
    """The IOC as a user runs it: under a shell in a terminal (a pty), with Ctrl-C typed."""
    import pty
    ioc = make_ioc()
    leader, follower = pty.openpty()
    shell = subprocess.Popen(["bash", "-i"], stdin=follower, stdout=follower, stderr=follower,
                             start_new_session=True, env=ioc.env())
    os.close(follower)
    try:
        command = " ".join(ioc.argv()) + f" > {ioc.log} 2>&1\n"
        ioc.mark_log()
        os.write(leader, command.encode())
        ioc.wait_ready()
        (job,) = add(ioc, spawning_job(tmp_path))
        put_checked(ioc.pv("QUEUE:START"), 1)
        pids = job_pids(tmp_path)
        os.write(leader, b"\x03")                      # Ctrl-C
        wait_for(lambda: "stopped" in ioc.log_text(), timeout=10, what="the IOC to stop")
        assert cleaned_up(tmp_path)
        all_gone(pids)
    finally:
        shell.kill()
        shell.wait(5)
        os.close(leader)
