"""Admission: what a client put becomes before anything is queued.

Parses the JSON of a put, checks each job's shape, and checks it against what
exists here (the command and its signature, the script folders, the script's
syntax). Anything wrong raises RequestRefused naming the job and the problem.
"""
from __future__ import annotations

from typing import Any

from scriptserver.commands.library import CommandLibrary
from scriptserver.jobs.errors import RequestRefused
from scriptserver.commands.scripts import ScriptFolders
from scriptserver.jobs.spec import JobSpec, parse_job, parse_json, type_name
from scriptserver.jobs.tags import has_pause_points

MAX_JOBS_PER_ADD = 100_000


class Admission:
    def __init__(self, commands: CommandLibrary, scripts: ScriptFolders):
        self.commands = commands
        self.scripts = scripts

    def check(self, spec: JobSpec) -> dict[str, Any]:
        """Check a job against what exists here; return the details a Job carries."""
        body = spec.body
        if spec.kind == "command":
            self.commands.check_call(body["command"], body.get("args", {}))
            return {"pausable": True}
        if spec.kind == "script_file":
            source = self.scripts.resolve(body["script_file"]).read_text(errors="replace")
            name = body["script_file"]
        else:
            source, name = body["script"], "the script"
        try:
            compile(source, name, "exec")
        except SyntaxError as err:
            raise RequestRefused(f"{name} has a syntax error at line {err.lineno}: {err.msg}") \
                from None
        except ValueError as err:
            raise RequestRefused(f"{name} cannot be compiled: {err}") from None
        return {"pausable": has_pause_points(source)}

    def jobs(self, value: str) -> tuple[list[tuple[JobSpec, dict]], Any, str | None]:
        """([(spec, details)], position, batch name) for a QUEUE:ADD or VALIDATE put."""
        specs, pos, batch = self.parse(value)
        checked = []
        for i, spec in enumerate(specs):
            with _numbered(i, len(specs)):
                checked.append((spec, self.check(spec)))
        return checked, pos, batch

    @staticmethod
    def parse(value: str) -> tuple[list[JobSpec], Any, str | None]:
        """One job, a list of jobs, or {"jobs": [...], "pos": ..., "batch": ...}."""
        data = parse_json(value)
        pos, batch = None, None
        if isinstance(data, dict) and "jobs" in data:
            extra = set(data) - {"jobs", "pos", "batch"}
            if extra:
                raise RequestRefused(f"unknown key(s) {sorted(extra)} beside \"jobs\"; a list "
                                     'of jobs is {"jobs": [...], "pos": ..., "batch": "name"}')
            data, pos, batch = data["jobs"], data.get("pos"), data.get("batch")
            if not isinstance(data, list):
                raise RequestRefused(f'"jobs" must be a list of jobs, not {type_name(data)}')
            if batch is not None and (not isinstance(batch, str) or not batch.strip()):
                raise RequestRefused('"batch" must be a name for the batch (a string)')
        elif isinstance(data, dict):
            data = dict(data)
            pos = data.pop("pos", None)
            data = [data]
        elif not isinstance(data, list):
            raise RequestRefused(f"send a job (JSON object) or a list of jobs, not {type_name(data)}")
        if len(data) > MAX_JOBS_PER_ADD:
            raise RequestRefused(f"at most {MAX_JOBS_PER_ADD} jobs can be added at once")
        specs = []
        for i, item in enumerate(data):
            with _numbered(i, len(data)):
                specs.append(parse_job(item))
        return specs, pos, batch


def request(value: Any, what: str, required: set[str], optional: set[str]) -> dict[str, Any]:
    """A small JSON object request (MOVE, REPEAT, EDIT, ...) with its keys checked."""
    data = parse_json(value, f"the {what} request") if isinstance(value, str) else value
    if not isinstance(data, dict):
        raise RequestRefused(f"{what} takes a JSON object with {', '.join(sorted(required))}")
    missing = sorted(required - set(data))
    unknown = sorted(set(data) - required - optional)
    if missing:
        raise RequestRefused(f"{what}: {', '.join(missing)} missing")
    if unknown:
        raise RequestRefused(f"{what}: unknown key(s) {', '.join(unknown)}; allowed: "
                             f"{', '.join(sorted(required | optional))}")
    return data


class _numbered:
    """Prefix a refusal with "job i of n" when a put carries several jobs."""

    def __init__(self, index: int, count: int):
        self.index, self.count = index, count

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is RequestRefused and self.count > 1:
            raise RequestRefused(f"job {self.index + 1} of {self.count}: {exc}") from None
        return False
