"""The command library, IOC side: current descriptions of the instrument's commands.

Instrument code never runs in the IOC process: descriptions come from the describe
subprocess and estimates from the estimate subprocess. A file that breaks (a syntax
error, an import that hangs) gets an error, published next to the commands, and the
commands it offered before stay listed (its last good description) so queued jobs keep
validating while the scientist fixes it.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from scriptserver.jobs.errors import RequestRefused

from . import catalog, files, validate

logger = logging.getLogger(__name__)

DESCRIBE = "scriptserver.commands.describe"
ESTIMATE = "scriptserver.commands.estimate"
PARALLEL_FILES = 8


class SubprocessProblem(Exception):
    """A helper subprocess did not give an answer (timed out, crashed, printed no JSON)."""


class SubprocessTimedOut(SubprocessProblem):
    pass


class CommandLibrary:
    """Descriptions of the commands in ``folders``, kept current by ``refresh()``.

    ``timeout``: seconds for describing all files at once; when exceeded (or the
    subprocess dies), each file is described on its own with ``file_timeout``, so the
    one file whose import hangs is named in its error.
    """

    def __init__(self, folders: list[Path], *, timeout: float = 10.0, file_timeout: float = 5.0,
                 python: str = sys.executable) -> None:
        self.folders = list(dict.fromkeys(Path(f).absolute() for f in folders))
        self.timeout = timeout
        self.file_timeout = file_timeout
        self.python = python
        self._stamp: tuple | None = None
        self._last_good: dict[str, list[dict[str, Any]]] = {}
        self._commands: dict[str, dict[str, Any]] = {}
        self._errors: dict[str, str] = {}
        self._lock = asyncio.Lock()
        # counts the changes of the descriptions: a check of a job against them holds as
        # long as it is the same (see ioc/admission.py, found_clean)
        self.generation = 0

    # --- keeping current -------------------------------------------------------------

    def changed(self) -> bool:
        """Whether any ``*.py`` file in the folders was added, edited or deleted since the
        last refresh (names, modification times and sizes; cheap enough to poll)."""
        return self._files_stamp() != self._stamp

    async def refresh(self) -> bool:
        """Describe all command files again; True if the descriptions or errors changed."""
        async with self._lock:
            stamp = self._files_stamp()
            results = await self._describe_files()
            self._stamp = stamp
            return self._take(results)

    # --- reading ---------------------------------------------------------------------

    def describe(self) -> list[dict[str, Any]]:
        """All command descriptions, sorted by name."""
        return [self._commands[name] for name in sorted(self._commands)]

    def names(self) -> list[str]:
        return sorted(self._commands)

    def errors(self) -> dict[str, str]:
        """Problems by file path (or folder path), in words."""
        return dict(self._errors)

    def get(self, name: str) -> dict[str, Any]:
        """The description of one command; RequestRefused (with "did you mean") if unknown."""
        try:
            return self._commands[name]
        except KeyError:
            raise RequestRefused(validate.unknown_command_message(name, self.names())) from None

    def check_call(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """The call's typed arguments, or RequestRefused saying what is wrong.

        For IBEX script definitions this checks types only: their ``parameters_valid``
        is instrument code and runs in the job subprocess.
        """
        return validate.check_call(self.get(name), args)

    async def estimate(self, calls: list[tuple[str, dict[str, Any]]]) -> list[float | None]:
        """Seconds each call is expected to take (None: no estimate, or it failed).

        All the estimates run in one subprocess.
        """
        estimates: list[float | None] = [None] * len(calls)
        wanted: list[tuple[int, str, dict[str, Any]]] = []
        for index, (name, args) in enumerate(calls):
            description = self._commands.get(name)
            if description is None or not description["has_estimate"]:
                continue
            try:
                wanted.append((index, name, validate.check_call(description, args)))
            except RequestRefused:
                continue
        if not wanted:
            return estimates
        request = json.dumps([[name, args] for _, name, args in wanted]).encode()
        try:
            answers = await run_json([self.python, "-m", ESTIMATE, *map(str, self.folders)],
                                     self.timeout, stdin=request)
        except SubprocessProblem as problem:
            logger.warning("estimating %d call(s) failed: %s", len(wanted), problem)
            return estimates
        for (index, _, _), seconds in zip(wanted, answers):
            estimates[index] = float(seconds) if isinstance(seconds, (int, float)) else None
        return estimates

    async def parameters_problems(self, calls: list[tuple[str, dict[str, Any]]]
                                  ) -> list[str | None]:
        """What each IBEX script definition's ``parameters_valid`` says of its call (None:
        valid), asked in one subprocess: instrument code never runs in the IOC. A call
        that cannot be asked (the subprocess failed) is reported as such, never as valid."""
        if not calls:
            return []
        typed = []
        for name, args in calls:
            try:
                typed.append([name, validate.check_call(self.get(name), args)])
            except RequestRefused:
                typed.append([name, args])       # its type problem is reported already
        try:
            return await run_json([self.python, "-m", ESTIMATE, "--parameters-valid",
                                   *map(str, self.folders)], self.timeout,
                                  stdin=json.dumps(typed).encode())
        except SubprocessProblem as problem:
            return [f"{name}: parameters_valid could not be asked: {problem}"
                    for name, _ in calls]

    # --- inside ----------------------------------------------------------------------

    def _files_stamp(self) -> tuple:
        stamp: list[tuple] = []
        for folder in self.folders:
            stamp.append((str(folder), folder.is_dir()))
            for path in sorted(folder.glob("*.py")) if folder.is_dir() else []:
                try:
                    status = path.stat()
                except OSError:  # deleted while we looked
                    continue
                stamp.append((str(path), status.st_mtime_ns, status.st_size))
        return tuple(stamp)

    async def _describe_files(self) -> list[dict[str, Any]]:
        if not files.command_files(self.folders):
            return [_missing(folder) for folder in self.folders if not folder.is_dir()]
        try:
            report = await run_json([self.python, "-m", DESCRIBE, "--per-file",
                                     *map(str, self.folders)], self.timeout)
            return report["files"]
        except (SubprocessProblem, KeyError, TypeError) as problem:
            logger.warning("describing the command folders failed (%s); trying file by file",
                           problem)
        gate = asyncio.Semaphore(PARALLEL_FILES)
        results = await asyncio.gather(*(self._describe_one(path, gate)
                                         for path in files.command_files(self.folders)))
        return [_missing(folder) for folder in self.folders if not folder.is_dir()] + results

    async def _describe_one(self, path: Path, gate: asyncio.Semaphore) -> dict[str, Any]:
        async with gate:
            try:
                report = await run_json([self.python, "-m", DESCRIBE, "--per-file", str(path)],
                                        self.file_timeout)
                return report["files"][0]
            except SubprocessTimedOut:
                error = f"import took longer than {self.file_timeout:g} s"
            except (SubprocessProblem, KeyError, IndexError, TypeError) as problem:
                error = f"describing this file failed: {problem}"
        logger.warning("%s: %s", path, error)
        return {"path": str(path), "commands": [], "error": error}

    def _take(self, results: list[dict[str, Any]]) -> bool:
        per_file: list[catalog.FileCommands] = []
        errors: dict[str, str] = {}
        last_good: dict[str, list[dict[str, Any]]] = {}
        for result in results:
            path = result["path"]
            commands = result["commands"]
            if result["error"]:
                commands = self._last_good.get(path, [])
                errors[path] = result["error"] + _still_listed(commands)
            if commands:
                last_good[path] = commands
            per_file.append((path, commands))
        self._last_good = last_good
        commands_now, errors = catalog.merge(per_file, errors)
        changed = commands_now != self._commands or errors != self._errors
        self._commands, self._errors = commands_now, errors
        if changed:
            self.generation += 1
            logger.info("commands: %d, files with errors: %d", len(commands_now), len(errors))
        return changed


def _missing(folder: Path) -> dict[str, Any]:
    return {"path": str(folder), "commands": [], "error": "command folder not found"}


def _still_listed(commands: list[dict[str, Any]]) -> str:
    if not commands:
        return ""
    names = ", ".join(sorted(c["name"] for c in commands))
    return f" (still listing {names} from the last good version; fix the file to run them)"


async def run_json(argv: list[str], timeout: float, stdin: bytes | None = None) -> Any:
    """Run a helper subprocess and parse the JSON it prints; its process group is killed
    if it takes longer than ``timeout`` seconds."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=os.name == "posix")
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
    except asyncio.TimeoutError:
        _kill(process)
        await process.wait()
        raise SubprocessTimedOut(f"no answer within {timeout:g} s") from None
    if err.strip():
        logger.debug("%s said on stderr:\n%s", argv[2:4], err.decode(errors="replace"))
    if process.returncode != 0:
        last = (err.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise SubprocessProblem(f"exit code {process.returncode}: {last}")
    try:
        return json.loads(out)
    except ValueError:
        raise SubprocessProblem("it printed no JSON") from None


def _kill(process: asyncio.subprocess.Process) -> None:
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)  # and whatever the import started
        else:
            process.kill()
    except ProcessLookupError:
        pass
