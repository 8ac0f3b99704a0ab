"""What runs inside a job's own process: the job itself, plus two helper threads.

- the control thread reads the server's requests (pause, pause_now, resume) from the
  channel;
- the sampler thread reads the main thread's current frame a few times a second
  and reports the job's current line and call chain (sampling, not tracing, so a
  CPU-bound job runs at full speed), and flushes rate-limited reports.

Pause-now arrives on the channel like the other requests; the control thread
then sends SIGUSR1 to the main thread, whose handler runs at the next Python
line and holds there until resumed (unless a later resume has cancelled it).
Abort is SIGTERM: its handler raises JobAborted, so the job's ``finally:``
blocks run; the server kills the process group when its grace period is over.
"""
from __future__ import annotations

import _thread
import ast
import json
import linecache
import signal
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from scriptserver.commands.scripts import ScriptFolders
from scriptserver.jobs import api, tags
from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.phases import PhaseList

from .simclock import SimulatedClock

SAMPLE_INTERVAL = 0.1       # s between current-line samples, unless configured
REPORT_INTERVAL = 0.05      # s: a kind of report is sent at most this often; the latest is kept
real_monotonic = time.monotonic     # the rate limit runs on real time, even in a dry run


class JobAborted(BaseException):
    """Raised in the job's main thread when the operator aborts it."""


class Runtime:
    """The job's side of the channel to the server."""

    def __init__(self, channel: socket.socket, dry_run: bool):
        self.channel = channel
        self.dry_run = dry_run
        self._lock = threading.RLock()          # re-entrant: a signal handler may send mid-send
        self._last_sent: dict[str, float] = {}
        self._pending: dict[str, Any] = {}
        self.pause_requested = threading.Event()   # pause: hold at the next pause point
        self.hold_wanted = False                    # pause-now: hold at the next line
        self.job_started = False                    # the job's own code is running
        self._resumes = 0                           # resume requests read so far
        self._resumed = threading.Event()
        self._holding = False
        self.finished = threading.Event()
        self.phases = PhaseList()
        self.not_simulated: list[str] = []          # commands a dry run skipped

    def send(self, kind: str, **fields: Any) -> None:
        data = (json.dumps({"t": kind, **fields}) + "\n").encode()
        with self._lock:
            try:
                self.channel.sendall(data)
            except OSError:
                pass                             # the server went away; the job carries on

    def report(self, kind: str, value: Any) -> None:
        now = real_monotonic()
        with self._lock:
            if now - self._last_sent.get(kind, 0.0) >= REPORT_INTERVAL:
                self._last_sent[kind] = now
                self._pending.pop(kind, None)
                self.send(kind, v=value)
            else:
                self._pending[kind] = value

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            for kind, value in pending.items():
                self._last_sent[kind] = real_monotonic()
                self.send(kind, v=value)

    def plan_phases(self, planned: list) -> None:
        self.phases.plan(planned)
        self.report("phases", self.phases.as_list(time.time()))

    def phase_started(self, name: str, expected: float | None) -> None:
        self.phases.start(name, expected, time.time())   # simulated in a dry run
        self.report("phases", self.phases.as_list(time.time()))

    def phase_ended(self, name: str, failed: bool) -> None:
        self.phases.end(name, failed, time.time())
        self.report("phases", self.phases.as_list(time.time()))

    def skipped(self, command: str) -> None:
        """A dry run met a command that does not say what it does in one: not run."""
        if command not in self.not_simulated:
            self.not_simulated.append(command)
        print(f"dry run: {command} is not simulated; skipped", flush=True)

    def pause_point(self) -> None:
        if self.pause_requested.is_set():
            self.hold()

    def hold(self) -> None:
        """Wait here until the operator resumes (or aborts: SIGTERM raises through the wait).

        Holds only if a pause is still wanted: a resume read before this point
        (say, while a long C call delayed the pause-now signal) cancels it.
        """
        if self._holding:
            return
        self._holding = True
        try:
            self._resumed.clear()
            seen = self._resumes
            if not (self.hold_wanted or self.pause_requested.is_set()):
                return
            self.hold_wanted = False
            self.pause_requested.clear()
            self.flush()
            self.send("paused", resumes=seen)   # lets the server spot a resume already sent
            while self._resumes == seen:
                self._resumed.wait(0.5)
        finally:
            self._holding = False
        self.send("resumed")

    def start_job(self) -> None:
        """Called in the main thread as the job's own code starts: a pause-now asked
        for while the job was being prepared takes effect at its first line."""
        self.job_started = True
        if self.hold_wanted:
            interrupt_main()

    def on_request(self, request: dict[str, Any]) -> None:
        """In the control thread, in the order the server sent them."""
        kind = request.get("t")
        if kind == "pause":
            self.pause_requested.set()
        elif kind == "pause_now":
            self.hold_wanted = True
            if self.job_started:
                interrupt_main()
        elif kind == "resume":
            # cancel whatever is wanted first, then wake a hold: see hold()
            self.hold_wanted = False
            self.pause_requested.clear()
            self._resumes += 1
            self._resumed.set()


def in_background(target: Callable[..., None], *args: Any) -> None:
    """Start a helper thread without waiting until it runs (``Thread.start`` waits for
    that: on a busy machine a millisecond or more before the job's first line). The
    process ends with os._exit, so nothing needs to join it."""
    _thread.start_new_thread(target, args)


def interrupt_main() -> None:
    """SIGUSR1 to the main thread itself, so a sleep or wait it is in returns to Python."""
    signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)


def read_requests(runtime: Runtime, reader) -> None:
    for line in reader:
        try:
            runtime.on_request(json.loads(line))
        except ValueError:
            continue


def sample_lines(runtime: Runtime, main_id: int, own_files: set[str],
                 interval: float = SAMPLE_INTERVAL) -> None:
    """Report the job's current line and call chain whenever they change."""
    last: list[list] | None = None
    while not runtime.finished.wait(interval):
        frame = sys._current_frames().get(main_id)
        stack = []
        while frame is not None:
            if frame.f_code.co_filename in own_files:
                stack.append([frame.f_code.co_name, frame.f_lineno])
            frame = frame.f_back
        del frame
        stack.reverse()
        if stack and stack != last:
            last = stack
            runtime.send("line", line=stack[-1][1], stack=stack)
        runtime.flush()


def flush_reports(runtime: Runtime) -> None:
    """With line reporting off, still deliver the latest rate-limited reports."""
    while not runtime.finished.wait(SAMPLE_INTERVAL):
        runtime.flush()


# -- the three kinds of job ---------------------------------------------------

def prepare_script(source: str, filename: str, params: dict, payload: dict[str, Any],
                   runtime: Runtime) -> tuple[Callable[[], None], str]:
    """The script as a callable: its module body, then ``main(**params)`` if it declares
    a ``main`` with parameters (checked against main's signature, as a command's are)."""
    from scriptserver.commands import checks, script_main
    from scriptserver.commands.validate import check_call
    from .script_env import script_globals
    source = tags.rewrite(source)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    described = {c["name"]: c for c in payload.get("command_descriptions", [])}
    names = payload.get("command_names", list(described))    # the script can call these
    if payload.get("checked"):
        # the IOC ran this same check, on this text with these params against these same
        # command descriptions, and found it clean: not again (pyflakes: a millisecond
        # for a one-line script, seconds for a big one)
        tree = ast.parse(source, filename)
    else:
        # checked again just before it runs (here, not in the IOC: a big script takes seconds)
        found = checks.check_script(source, described, params)
        if found.problems:
            raise RequestRefused(checks.refusal(payload.get("script_name", filename),
                                                found.problems))
        assert found.tree is not None
        tree = found.tree
    code = compile(tree, filename, "exec")
    namespace = script_globals(filename, params, names,
                               [Path(f) for f in payload.get("command_folders", [])],
                               runtime.dry_run, runtime.skipped)
    main = script_main.main_description(tree)
    typed = check_call(main, params) if main is not None else {}

    def run_script() -> None:
        exec(code, namespace)
        if main is not None:
            namespace[script_main.MAIN](**typed)

    return run_script, filename


def prepare(payload: dict[str, Any], runtime: Runtime) -> tuple[Callable[[], None], str]:
    """The job as a callable, and the file whose lines are 'the job's own lines'."""
    job = payload["job"]
    body = job["job"]
    params = body.get("params", {})
    if job["kind"] == "script":
        return prepare_script(body["script"], f"<job {job['id']}>", params, payload, runtime)
    if job["kind"] == "script_file":
        # resolved now, as it runs: the file may have changed or gone since it was queued
        path = ScriptFolders([Path(f) for f in payload["script_folders"]]).resolve(
            body["script_file"])
        return prepare_script(path.read_text(), str(path), params, payload, runtime)
    from scriptserver.commands.loader import load_command
    from scriptserver.commands.validate import check_call
    folders = [Path(f) for f in payload["command_folders"]]
    func, description = load_command(folders, body["command"])
    typed = check_call(description, body.get("args", {}))
    if runtime.dry_run and not description.get("simulated"):
        return (lambda: runtime.skipped(body["command"])), str(Path(description["module"]))
    return (lambda: func(**typed)), str(Path(description["module"]).resolve())


def describe_failure(err: BaseException, own_file: str) -> tuple[str, str]:
    """(one-line reason with the job's own line, traceback without this module's frames)"""
    tb = traceback.extract_tb(err.__traceback__)
    frames = [f for f in tb if f.filename != __file__]
    where = next((f for f in reversed(frames) if f.filename == own_file), None)
    reason = f"{type(err).__name__}: {err}".rstrip(": ")
    if where is not None:
        reason += f" (line {where.lineno} of {Path(own_file).name if own_file[0] != '<' else own_file})"
    text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames))
    text += "".join(traceback.format_exception_only(type(err), err))
    return reason, text


def run(payload: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    if not runtime.dry_run:
        return run_job(payload, runtime)
    clock = SimulatedClock()
    clock.install()
    outcome = run_job({**payload, "line_interval": 0}, runtime)
    outcome.update(simulated_seconds=round(clock.elapsed(), 3),
                   not_simulated=runtime.not_simulated)
    return outcome


def run_job(payload: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    own_file = "<job>"
    try:
        job, own_file = prepare(payload, runtime)
        interval = payload.get("line_interval", SAMPLE_INTERVAL)
        if interval > 0:
            in_background(sample_lines, runtime, threading.main_thread().ident, {own_file},
                          interval)
        else:
            in_background(flush_reports, runtime)
        runtime.start_job()
        job()
        return {"status": "finished"}
    except JobAborted:
        return {"status": "aborted", "error": "aborted by the operator"}
    except SystemExit as stop:
        if stop.code in (None, 0):
            return {"status": "finished"}
        return {"status": "failed", "error": f"the job called sys.exit({stop.code!r})"}
    except RequestRefused as refused:
        return {"status": "failed", "error": str(refused)}
    except BaseException as err:  # noqa: BLE001 - whatever the job raised is its failure
        reason, text = describe_failure(err, own_file)
        return {"status": "failed", "error": reason, "traceback": text}


REHEARSAL = {"job": {"id": 0, "kind": "script", "job": {"script": "rehearsed = 1\n"}},
             "command_folders": [], "command_names": [], "checked": True}


def rehearse() -> None:
    """In a spare, before it is given a job: go once through what starting a job runs
    (reading it, preparing a one-line script, running it, reporting), so that the memory
    this touches is the spare's own before the job comes. (After a fork, the first write
    to each page copies it: about half a millisecond of a job's start otherwise.)"""
    ours, theirs = socket.socketpair()
    try:
        payload = json.loads(json.dumps(REHEARSAL))
        runtime = Runtime(ours, dry_run=False)
        job, _ = prepare(payload, runtime)
        job()
        runtime.send("line", line=1, stack=[["<module>", 1]])
        theirs.recv(65536)
    finally:
        ours.close()
        theirs.close()
        linecache.cache.pop(f"<job {REHEARSAL['job']['id']}>", None)


def main(channel_fd: int) -> int:
    """Entry point in the forked job process; returns the exit code."""
    channel = socket.socket(fileno=channel_fd)
    reader = channel.makefile("r", encoding="utf-8")
    line = reader.readline()
    if not line:
        return 1                        # aborted before the job was sent: nothing to run
    payload = json.loads(line)
    runtime = Runtime(channel, bool(payload.get("dry_run")))
    api._runtime = runtime

    def abort(signum, frame):
        raise JobAborted("aborted by the operator")

    signal.signal(signal.SIGUSR1, lambda signum, frame: runtime.hold())
    in_background(read_requests, runtime, reader)
    try:
        # until here SIGTERM simply ends the process: none of the job has run yet
        signal.signal(signal.SIGTERM, abort)
        outcome = run(payload, runtime)
    except JobAborted:                  # aborted while getting ready, before run() took over
        outcome = {"status": "aborted", "error": "aborted by the operator"}
    runtime.finished.set()
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)     # ending anyway
    runtime.flush()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    runtime.send("ended", **outcome)
    return 0 if outcome["status"] == "finished" else 1
