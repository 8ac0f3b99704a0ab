"""The queue of jobs waiting to run: an ordered list that refuses bad edits whole."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from .errors import RequestRefused
from .spec import JobSpec


@dataclass
class Job:
    """A job with its id: what sits in the queue and what runs."""

    id: int
    spec: JobSpec
    estimate: float | None = None          # seconds, when known
    estimate_source: str = "unknown"
    pausable: bool = True                  # False for a black-box script (no pause points)
    extra: dict[str, Any] = field(default_factory=dict)   # e.g. batch membership

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def name(self) -> str:
        return self.spec.name

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "name": self.name,
                "estimate": self.estimate, "estimate_source": self.estimate_source,
                "pausable": self.pausable, "job": self.spec.body, **self.extra}

    def as_json(self) -> str:
        """describe() as compact JSON, kept until a field of the job is set again."""
        text = self.__dict__.get("_json")
        if text is None:
            text = self.__dict__["_json"] = json.dumps(self.describe(), separators=(",", ":"))
        return text

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__.pop("_json", None)        # a 10,000-job queue re-joins, never re-encodes
        super().__setattr__(name, value)


Position = int | str | None


class JobQueue:
    """Queued jobs in running order. Every method either applies fully or raises."""

    def __init__(self, jobs: Iterable[Job] = ()):
        self._jobs: list[Job] = list(jobs)

    def __len__(self) -> int:
        return len(self._jobs)

    def __iter__(self) -> Iterator[Job]:
        return iter(self._jobs)

    def __contains__(self, job_id: int) -> bool:
        return any(j.id == job_id for j in self._jobs)

    def ids(self) -> list[int]:
        return [j.id for j in self._jobs]

    def get(self, job_id: int) -> Job:
        return self._jobs[self.index(job_id)]

    def index(self, job_id: Any) -> int:
        if not isinstance(job_id, int) or isinstance(job_id, bool):
            raise RequestRefused(f"a job id is a whole number, not {job_id!r}")
        for i, job in enumerate(self._jobs):
            if job.id == job_id:
                return i
        raise RequestRefused(f"no queued job has id {job_id}")

    def insert_index(self, pos: Position) -> int:
        """Where ``pos`` puts a job: an index, "front" or "back" (default)."""
        if pos is None or pos == "back":
            return len(self._jobs)
        if pos == "front":
            return 0
        if isinstance(pos, int) and not isinstance(pos, bool):
            if 0 <= pos <= len(self._jobs):
                return pos
            raise RequestRefused(f"position {pos} is outside the queue (0 to {len(self._jobs)})")
        raise RequestRefused(f'a position is an index, "front" or "back", not {pos!r}')

    def add(self, jobs: list[Job], pos: Position = None) -> None:
        i = self.insert_index(pos)
        self._jobs[i:i] = jobs

    def pop_next(self) -> Job | None:
        return self._jobs.pop(0) if self._jobs else None

    def take(self, job_id: int) -> Job:
        return self._jobs.pop(self.index(job_id))

    def remove(self, job_ids: list[int]) -> list[Job]:
        if len(set(job_ids)) != len(job_ids):
            raise RequestRefused("the same id is listed twice")
        for job_id in job_ids:          # refuse before changing anything
            self.index(job_id)
        gone = set(job_ids)
        removed = [j for j in self._jobs if j.id in gone]
        self._jobs = [j for j in self._jobs if j.id not in gone]
        return removed

    def move(self, job_id: int, pos: Position = None, *, before: int | None = None,
             after: int | None = None) -> None:
        given = [x is not None for x in (pos, before, after)]
        if sum(given) != 1:
            raise RequestRefused('say where to move the job: exactly one of "pos", '
                                 '"before" or "after"')
        i = self.index(job_id)
        if before is not None or after is not None:
            anchor = before if before is not None else after
            if anchor == job_id:
                raise RequestRefused("a job cannot be moved next to itself")
            self.index(anchor)
        elif pos not in ("front", "back") and (not isinstance(pos, int) or isinstance(pos, bool)
                                               or not 0 <= pos < len(self._jobs)):
            raise RequestRefused(f"position {pos!r} is outside the queue (0 to "
                                 f"{len(self._jobs) - 1}, \"front\" or \"back\")")
        job = self._jobs.pop(i)
        if before is not None:
            target = self.index(before)
        elif after is not None:
            target = self.index(after) + 1
        else:
            target = {"front": 0, "back": len(self._jobs)}.get(pos, pos)  # type: ignore[arg-type]
        self._jobs.insert(target, job)

    def replace(self, job_id: int, spec: JobSpec) -> Job:
        job = self.get(job_id)
        job.spec = spec
        return job

    def clear(self) -> list[Job]:
        removed, self._jobs = self._jobs, []
        return removed
