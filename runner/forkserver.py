"""The warm parent: imports the instrument's modules once, then forks each job.

Started by the runner as ``python -m scriptserver.runner.forkserver FD PRELOAD_JSON``.
FD is a SOCK_SEQPACKET socket to the runner. Requests arrive as one message with
two file descriptors attached (the job's channel and its output pipe); the reply
is ``{"started": job_id, "pid": pid}``. When a job's process exits, the server
sends ``{"exited": pid, "status": wait_status}``.

The forked job starts a new session, so it leads its own process group and an
abort can kill it together with everything it started. This process is a child
subreaper, so orphans of a job are reaped here rather than left as zombies, and
it dies with the IOC (parent-death signal), taking running jobs with it.
"""
from __future__ import annotations

import ctypes
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import time
import traceback

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def prctl(option: int, value: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass                                    # not Linux: no subreaper, no death signal


def preload(modules: list[str]) -> dict[str, str]:
    errors = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException as err:  # noqa: BLE001 - a bad preload must not stop the server
            errors[name] = f"{type(err).__name__}: {err}"
    return errors


def child(channel_fd: int, output_fd: int, control: socket.socket, mask: set) -> None:
    """In the forked process: become the job. Never returns.

    SIGTERM arrives blocked (see serve): an abort sent this early waits until the
    fork server's handler is gone, then ends the process before the job starts.
    """
    code = 1
    try:
        control.close()
        os.setsid()
        # If the fork server dies (the IOC crashed and took it along), the job is told
        # to stop: its finally: blocks run, and it cannot run on unseen next to the
        # same job put back in the queue after a restart.
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() == 1:
            os._exit(1)                         # the fork server died while forking us
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(output_fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        sys.stdout.reconfigure(line_buffering=True)
        sys.stderr.reconfigure(line_buffering=True)
        from scriptserver.runner import worker
        code = worker.main(channel_fd)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


RUNNING: dict[int, int] = {}                  # pid (= process group) -> job id
STOP_REAP_TIMEOUT = 2.0                       # s to reap killed jobs before exiting


def stop(signum, frame) -> None:
    """The IOC is gone or retiring us for good: take the running jobs with us."""
    for pid in RUNNING:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    # Reap them before leaving: a zombie handed to init still counts as a member of its
    # process group until init gets round to it (seconds, on some systems).
    deadline = time.monotonic() + STOP_REAP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid:
            RUNNING.pop(pid, None)
        elif not RUNNING:
            break                       # the jobs are reaped, and nothing else has ended
        else:
            time.sleep(0.002)
    sys.exit(0)


def serve(control: socket.socket) -> None:
    jobs = RUNNING
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *a: None)
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ, "control")
    selector.register(wake_r, selectors.EVENT_READ, "child")
    open_control = True

    def reap() -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if jobs.pop(pid, None) is not None and open_control:
                control.send(json.dumps({"exited": pid, "status": status}).encode())

    while open_control or jobs:
        for key, _ in selector.select(timeout=1.0):
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
                continue
            request = json.loads(data)
            # Until the child has reset its handlers, a SIGTERM (an early abort) would run
            # this process's stop() in the child, or be lost: hold it back until then.
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            pid = os.fork()
            if pid == 0:
                child(fds[0], fds[1], control, mask)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            for fd in fds:
                os.close(fd)
            jobs[pid] = request["job"]
            control.send(json.dumps({"started": request["job"], "pid": pid}).encode())
        reap()


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    signal.signal(signal.SIGTERM, stop)
    errors = preload(["scriptserver.runner.worker", "scriptserver.commands.loader",
                      "scriptserver.commands.validate", "scriptserver.commands.checks",
                      "scriptserver.runner.script_env"] + json.loads(sys.argv[2]))
    control.send(json.dumps({"ready": os.getpid(), "preload_errors": errors}).encode())
    try:
        serve(control)
    finally:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)


if __name__ == "__main__":
    main()
