"""Admission: what a client put becomes before anything is queued.

Parses the JSON of a put, checks each job's shape, and reviews it against what
exists here (``commands.review``: the command and its signature, the script folders,
the script's syntax, names and command calls, main's parameters; ``admit`` also asks
IBEX script definitions' ``parameters_valid``). Anything wrong raises RequestRefused
naming the job and listing every problem.
"""
from __future__ import annotations

import asyncio
import weakref
from typing import Any, Callable, TypeVar

from scriptserver.commands.blockcheck import job_block_problems
from scriptserver.commands.library import CommandLibrary
from scriptserver.commands.review import Review, review
from scriptserver.commands.scripts import ScriptFolders
from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.manager import NewJob
from scriptserver.jobs.queue import Where
from scriptserver.jobs.spec import JobSpec, parse_job, parse_json, type_name

MAX_JOBS_PER_ADD = 100_000
PLACES = ("pos", "before", "after")          # where jobs go: see jobs.queue.Where
T = TypeVar("T")


class Admission:
    def __init__(self, commands: CommandLibrary, scripts: ScriptFolders,
                 block_names: Callable[[], list[str] | None] = lambda: None,
                 jobs_per_add: int = MAX_JOBS_PER_ADD):
        self.commands = commands
        self.scripts = scripts
        self.block_names = block_names      # the IBEX block server's, None when unknown
        self.jobs_per_add = jobs_per_add
        # script jobs found clean, by id(spec), for as long as the spec lives
        self._clean: dict[int, _Clean] = {}

    def found_clean(self, spec: JobSpec) -> bool:
        """Whether this script job (its text, its params) was checked and found clean
        against the command descriptions as they still are: the job process need not run
        the same check again before it runs the script (see runner/worker.py)."""
        kept = self._clean.get(id(spec))
        return kept is not None and kept() is spec and kept.generation == self.commands.generation

    def _remember_clean(self, spec: JobSpec, generation: int) -> None:
        self._clean[id(spec)] = _Clean(spec, self._forget, generation)

    def _forget(self, gone: "_Clean") -> None:
        if self._clean.get(gone.key) is gone:
            del self._clean[gone.key]

    def review(self, spec: JobSpec) -> Review:
        """Every static problem of a job (the one path: queue, edit, pre-run, VALIDATE)."""
        found = review(spec, self.commands, self.scripts)
        known = self.block_names()
        if known is not None:
            found.problems += job_block_problems(spec, known, self.commands, self.scripts)
        return found

    def check(self, spec: JobSpec) -> NewJob:
        """Check a job against what exists here; the job to queue, with what was found."""
        return self._checked(spec)[0]

    async def admit_one(self, spec: JobSpec) -> NewJob:
        """``check``, plus the IBEX script definitions' own ``parameters_valid``."""
        return (await self._admit([spec]))[0]

    async def admit(self, value: str) -> tuple[list[NewJob], Where, str | None]:
        """(checked jobs, where they go, batch name) for a QUEUE:ADD put: every job
        checked, IBEX script definitions' ``parameters_valid`` included (all the put's
        calls asked at once, in one subprocess)."""
        specs, where, batch = self.parse(value)
        return await self._admit(specs), where, batch

    async def _admit(self, specs: list[JobSpec]) -> list[NewJob]:
        checked, reviews = await off_the_loop(specs, self._check_all, specs)
        for i, problems in enumerate(await self.definition_problems(reviews)):
            if problems:
                with _numbered(i, len(specs)):
                    raise RequestRefused("; ".join(problems))
        return checked

    def _check_all(self, specs: list[JobSpec]) -> tuple[list[NewJob], list[Review]]:
        checked, reviews = [], []
        for i, spec in enumerate(specs):
            with _numbered(i, len(specs)):
                new, found = self._checked(spec)
            checked.append(new)
            reviews.append(found)
        return checked, reviews

    async def definition_problems(self, reviews: list[Review]) -> list[list[str]]:
        """Per job, what IBEX script definitions' ``parameters_valid`` says of its calls
        (asked in one subprocess, only if there are any), with script lines."""
        asked = [(i, line, name, args) for i, found in enumerate(reviews)
                 for line, name, args in found.definition_calls]
        problems: list[list[str]] = [[] for _ in reviews]
        if not asked:
            return problems
        answers = await self.commands.parameters_problems([(n, a) for _, _, n, a in asked])
        for (i, line, _, _), answer in zip(asked, answers):
            if answer:
                problems[i].append(f"line {line}: {answer}" if line else answer)
        return problems

    def _checked(self, spec: JobSpec) -> tuple[NewJob, Review]:
        generation = self.commands.generation       # before: a reload meanwhile voids it
        found = self.review(spec)
        if found.problems:
            raise RequestRefused(found.refusal())
        if spec.kind == "script":                  # a script_file may change before it runs
            self._remember_clean(spec, generation)
        return NewJob(spec, pausable=bool(found.details.get("pausable"))), found

    def parse(self, value: str) -> tuple[list[JobSpec], Where, str | None]:
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
        if len(data) > self.jobs_per_add:
            raise RequestRefused(f"{len(data)} jobs in one put; at most {self.jobs_per_add} can "
                                 "be added at once (limits.jobs_per_add): split them into "
                                 "several puts")
        specs = []
        for i, item in enumerate(data):
            with _numbered(i, len(data)):
                specs.append(parse_job(item))
        return specs, Where(**places), batch


class _Clean(weakref.ref):
    """A script job's spec found clean, weakly held (about 150 bytes a queued script job),
    with the command library's generation it was checked against."""

    __slots__ = ("key", "generation")

    def __new__(cls, spec: JobSpec, forget: Callable, generation: int) -> "_Clean":
        return super().__new__(cls, spec, forget)

    def __init__(self, spec: JobSpec, forget: Callable, generation: int):
        super().__init__(spec, forget)
        self.key, self.generation = id(spec), generation


async def off_the_loop(specs: list[JobSpec], function: Callable[..., T], *args: Any) -> T:
    """Run a review of scripts in a thread: pyflakes on a 1 MB script takes seconds, and
    the IOC keeps serving meanwhile. Command jobs alone are quick, checked in place."""
    if all(spec.kind == "command" for spec in specs):
        return function(*args)
    return await asyncio.to_thread(function, *args)


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
