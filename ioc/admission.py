"""Admission: what a client put becomes before anything is queued.

Parses the JSON of a put, checks each job's shape, and checks it against what
exists here (the command and its signature, the script folders, the script's
syntax). Anything wrong raises RequestRefused naming the job and the problem.
"""
from __future__ import annotations

from typing import Any

from scriptserver.commands.library import CommandLibrary
from scriptserver.commands.scripts import ScriptFolders
from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.manager import NewJob
from scriptserver.jobs.queue import Where
from scriptserver.jobs.spec import JobSpec, parse_job, parse_json, type_name
from scriptserver.jobs.tags import has_pause_points

MAX_JOBS_PER_ADD = 100_000
PLACES = ("pos", "before", "after")          # where jobs go: see jobs.queue.Where


class Admission:
    def __init__(self, commands: CommandLibrary, scripts: ScriptFolders):
        self.commands = commands
        self.scripts = scripts

    def check(self, spec: JobSpec) -> NewJob:
        """Check a job against what exists here; the job to queue, with what was found."""
        return NewJob(spec, pausable=self._check(spec))

    def _check(self, spec: JobSpec) -> bool:
        """Refuse a job that cannot run here; whether it can pause at a safe place."""
        body = spec.body
        if spec.kind == "command":
            self.commands.check_call(body["command"], body.get("args", {}))
            return True
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
        return has_pause_points(source)

    def jobs(self, value: str) -> tuple[list[NewJob], Where, str | None]:
        """(checked jobs, where they go, batch name) for a QUEUE:ADD or VALIDATE put."""
        specs, where, batch = self.parse(value)
        return self.check_all(specs), where, batch

    def check_all(self, specs: list[JobSpec]) -> list[NewJob]:
        checked = []
        for i, spec in enumerate(specs):
            with _numbered(i, len(specs)):
                checked.append(self.check(spec))
        return checked

    @staticmethod
    def parse(value: str) -> tuple[list[JobSpec], Where, str | None]:
        """One job, a list of jobs, or {"jobs": [...], "pos"/"before"/"after": ...,
        "batch": ...}."""
        data = parse_json(value)
        places: dict[str, Any] = {}
        batch = None
        if isinstance(data, dict) and "jobs" in data:
            extra = set(data) - {"jobs", "batch", *PLACES}
            if extra:
                raise RequestRefused(f"unknown key(s) {sorted(extra)} beside \"jobs\"; a list "
                                     'of jobs is {"jobs": [...], "pos": ..., "batch": "name"}')
            places = {k: data[k] for k in PLACES if k in data}
            data, batch = data["jobs"], data.get("batch")
            if not isinstance(data, list):
                raise RequestRefused(f'"jobs" must be a list of jobs, not {type_name(data)}')
            if batch is not None and (not isinstance(batch, str) or not batch.strip()):
                raise RequestRefused('"batch" must be a name for the batch (a string)')
        elif isinstance(data, dict):
            data = dict(data)
            places = {k: data.pop(k) for k in PLACES if k in data}
            data = [data]
        elif not isinstance(data, list):
            raise RequestRefused(f"send a job (JSON object) or a list of jobs, not {type_name(data)}")
        if len(data) > MAX_JOBS_PER_ADD:
            raise RequestRefused(f"at most {MAX_JOBS_PER_ADD} jobs can be added at once")
        specs = []
        for i, item in enumerate(data):
            with _numbered(i, len(data)):
                specs.append(parse_job(item))
        return specs, Where(**places), batch


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
