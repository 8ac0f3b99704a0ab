"""The warm parent: imports the instrument's modules once, then forks each job.

Started by the runner as ``python -m scriptserver.runner.forkserver FD PRELOAD_JSON``,
in a session of its own, so a signal to the IOC's process group (Ctrl-C in a terminal,
procServ's kill) does not reach it: the IOC decides what happens to the running job.
FD is a SOCK_SEQPACKET socket to the runner. Requests arrive as one message with
two file descriptors attached (the job's channel and its output pipe); the reply
is ``{"started": job_id, "pid": pid}``. When a job's process exits, the server
sends ``{"exited": pid, "status": wait_status}``.

A job's process is normally the spare (spare.py): forked ahead, after the preload,
so that a start is one message to a process that already runs; it is forked fresh
when there is no spare (``no-spare`` as a third argument: never).

The forked job starts a new session, so it leads its own process group, with a
clean signal state (nothing blocked or ignored that a supervisor handed down).
This process is a child subreaper, so whatever a job starts stays below it even
when its parent exits. It ignores SIGTERM while the IOC lives (the IOC asks it to
go by closing the socket); when the IOC dies (parent-death signal), it gives the
jobs' ``finally:`` blocks DEATH_GRACE seconds after a SIGTERM, then kills
everything below it and exits.
"""
from __future__ import annotations

import gc
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import time
import traceback
from typing import Callable

from scriptserver.runner import signals, spare, tree

DEATH_GRACE = 0.5                 # s the jobs' finally: blocks get when the IOC has died
STOP_REAP_TIMEOUT = 2.0           # s to kill and reap the jobs' processes before exiting
PARENT = os.getppid()             # the IOC: when our parent is another, the IOC has died


def preload(modules: list[str]) -> dict[str, str]:
    errors = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException as err:  # noqa: BLE001 - a bad preload must not stop the server
            errors[name] = f"{type(err).__name__}: {err}"
    return errors


def fork(run: Callable[[], None]) -> int:
    """Fork a process that runs ``run`` (which never returns); its pid.

    Until the child has reset its handlers, a SIGTERM (an early abort) would run this
    process's stop() in the child, or be lost: it is held back until then."""
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        pid = os.fork()
        if pid == 0:
            run()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return pid


def child(keep_out: list[socket.socket], job_fds: tuple[int, int] | None,
          spare_sock: socket.socket | None = None) -> None:
    """In the forked process: become the job (a spare: once it is given one). Never returns.

    ``keep_out``: the fork server's sockets, closed here; ``job_fds``: the job's channel
    and output pipe, or None in a spare, which waits for them on ``spare_sock``.
    SIGTERM arrives blocked (see fork): an abort sent this early waits until the
    fork server's handler is gone, then ends the process before the job starts.
    """
    code = 1
    try:
        for sock in keep_out:
            sock.close()
        os.setsid()
        # If the fork server dies (the IOC crashed and took it along), the job is told
        # to stop: its finally: blocks run, and it cannot run on unseen next to the
        # same job put back in the queue after a restart.
        tree.die_with_parent(signal.SIGTERM)
        if os.getppid() != FORK_SERVER:
            os._exit(1)                         # the fork server died while forking us
        signal.set_wakeup_fd(-1)
        signals.python_defaults()               # and nothing blocked: a pending abort ends us
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        sys.stdout.reconfigure(line_buffering=True)     # once they are the job's output
        sys.stderr.reconfigure(line_buffering=True)
        from scriptserver.runner import worker
        if job_fds is None:
            assert spare_sock is not None
            rehearse(worker)
            job_fds = spare.wait_for_job(spare_sock)
            tree.set_name(OWN_NAME)             # a job's process now, named as a fresh one
        channel_fd, output_fd = job_fds
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(output_fd)
        code = worker.main(channel_fd)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def rehearse(worker) -> None:
    """In a spare: worker.rehearse, whose failure is said (in the IOC's log) but does not
    stop the spare from taking a job."""
    try:
        worker.rehearse()
    except Exception:  # noqa: BLE001 - only a head start is lost
        print("the spare job process could not rehearse a job's start:", file=sys.stderr)
        traceback.print_exc()


RUNNING: dict[int, int] = {}                  # pid (= process group) -> job id
FORK_SERVER = os.getpid()
OWN_NAME = tree.name(FORK_SERVER) or "python"
SPARE = spare.Spare(fork, lambda keep_out, sock: child(keep_out, None, sock))


def stop(signum, frame) -> None:
    """SIGTERM: while the IOC lives, it is not for us (the IOC ends the running job itself,
    with its full grace, then closes our socket). When the IOC has died (our parent-death
    signal), give the jobs' cleanup DEATH_GRACE, then kill everything below us and go."""
    if os.getppid() == PARENT:
        return
    below = tree.descendants([FORK_SERVER])
    tree.signal_all(below, signal.SIGTERM)
    wait_for_jobs(DEATH_GRACE)
    deadline = time.monotonic() + STOP_REAP_TIMEOUT
    # Reap them before leaving: a zombie handed to init still counts as a member of its
    # process group until init gets round to it (seconds, on some systems).
    while time.monotonic() < deadline:
        reap_any()
        if not tree.kill_step(tree.descendants([FORK_SERVER])):
            break
        time.sleep(0.002)
    reap_any()
    os._exit(0)


def reap_any(exited: Callable[[int, int], None] = lambda pid, status: None) -> None:
    """Reap every child that has ended; ``exited(pid, wait status)`` for each of our jobs."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return
        if RUNNING.pop(pid, None) is not None:
            exited(pid, status)
            SPARE.job_exited()
        else:
            SPARE.reaped(pid)                   # a spare that died is replaced, never used


def wait_for_jobs(timeout: float) -> None:
    """Reap as jobs end, until none is left or ``timeout`` s have passed."""
    deadline = time.monotonic() + timeout
    while RUNNING and time.monotonic() < deadline:
        reap_any()
        time.sleep(0.005)


def serve(control: socket.socket, spares: bool = True) -> None:
    jobs = RUNNING
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *a: None)
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ, "control")
    selector.register(wake_r, selectors.EVENT_READ, "child")
    open_control = True

    def tell(pid: int, status: int) -> None:
        if open_control:
            control.send(json.dumps({"exited": pid, "status": status}).encode())

    def reap() -> None:
        reap_any(tell)

    while open_control or jobs:
        timeout = 1.0
        if open_control and spares:
            SPARE.make([control])
            if not SPARE.pid:                   # one died young: the next when it is due
                timeout = min(timeout, max(0.0, SPARE.due - time.monotonic()))
        for key, _ in selector.select(timeout):
            if key.data == "child":
                os.read(wake_r, 4096)
                reap()
                continue
            try:
                data, fds, _, _ = socket.recv_fds(control, 65536, 2)
            except OSError:
                data, fds = b"", []
            if not data:                      # the runner retired us: finish running jobs
                open_control = False
                selector.unregister(control)
                SPARE.retire()                  # no job starts with our (old) modules now
                continue
            request = json.loads(data)
            pid = SPARE.hand_over(fds)
            if pid is None:
                pid = fork(lambda: child([control], (fds[0], fds[1])))
            for fd in fds:
                os.close(fd)
            jobs[pid] = request["job"]
            control.send(json.dumps({"started": request["job"], "pid": pid}).encode())
        reap()


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    signals.unblock_all()
    signals.reset_ignored()
    tree.become_subreaper()
    signal.signal(signal.SIGTERM, stop)
    tree.die_with_parent(signal.SIGTERM)
    if os.getppid() != PARENT:
        stop(signal.SIGTERM, None)              # the IOC died before we could ask to be told
    errors = preload(["scriptserver.runner.worker", "scriptserver.commands.loader",
                      "scriptserver.commands.validate", "scriptserver.commands.checks",
                      "scriptserver.runner.script_env"] + json.loads(sys.argv[2]))
    # what the preload made stays put: no collection in a job writes to (so copies) its pages
    gc.freeze()
    spares = sys.argv[3:4] != ["no-spare"]
    if spares:
        SPARE.make([control])                   # ready for the first job
    control.send(json.dumps({"ready": os.getpid(), "preload_errors": errors}).encode())
    try:
        serve(control, spares)
    finally:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)


if __name__ == "__main__":
    main()
