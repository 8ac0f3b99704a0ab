"""The queue of jobs waiting to run: an ordered list that refuses bad edits whole."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from .errors import RequestRefused, shown
from .spec import JobSpec


class Journal:
    """Old values of job fields set while a checkpoint is open (jobs/checkpoint.py), so
    undoing a request costs what the request changed, not a copy of a 10,000-job queue."""

    def __init__(self) -> None:
        self.entries: list[tuple["Job", str, Any]] | None = None

    def open(self) -> list[tuple["Job", str, Any]]:
        self.entries = []
        return self.entries

    def close(self) -> None:
        self.entries = None


JOURNAL = Journal()


@dataclass(frozen=True)
class BatchTag:
    """What the jobs of one batch share (one object for all of them)."""
    id: int                    # the id of its first job
    name: str
    size: int


# A job is itself: the queue finds it by identity, at C speed (eq=False). Slots: a queued
# job is kept in memory, 100,000 of them in a long queue. Its __init__ is written out so
# that making one does not go through __setattr__ (the journal) for every field.
@dataclass(eq=False, slots=True, init=False)
class Job:
    """A job with its id: what sits in the queue and what runs."""

    id: int
    spec: JobSpec
    estimate: float | None = None          # seconds, when known
    estimate_source: str = "unknown"
    pausable: bool = True                  # False for a black-box script (no pause points)
    by: str = ""                           # who queued it: user@host, when known
    batch: BatchTag | None = None          # the batch it belongs to, and where in it (1..size)
    batch_index: int = 0
    revision: int = 0                      # +1 at every edit: an estimate of an older one is stale
    _json: str | None = field(default=None, repr=False)   # describe() as JSON, until a change

    def __init__(self, id: int, spec: JobSpec, estimate: float | None = None,
                 estimate_source: str = "unknown", pausable: bool = True, by: str = "",
                 batch: BatchTag | None = None, batch_index: int = 0,
                 revision: int = 0) -> None:
        put = object.__setattr__
        put(self, "id", id)
        put(self, "spec", spec)
        put(self, "estimate", estimate)
        put(self, "estimate_source", estimate_source)
        put(self, "pausable", pausable)
        put(self, "by", by)
        put(self, "batch", batch)
        put(self, "batch_index", batch_index)
        put(self, "revision", revision)
        put(self, "_json", None)

    @classmethod
    def from_record(cls, job_id: int, spec: JobSpec, details: dict[str, Any],
                    batches: dict[int, BatchTag] | None = None) -> "Job":
        """A job as the store keeps it: its fields, with ``extra`` as describe() shows it.
        ``batches`` shares one tag among the jobs of a batch loaded together."""
        extra = details.get("extra") or {}
        tag, index = None, 0
        if isinstance(extra.get("batch"), dict):
            info = extra["batch"]
            tag = BatchTag(info["id"], info["name"], info["size"])
            if batches is not None:
                tag = batches.setdefault(tag.id, tag)
            index = info["index"]
        return cls(job_id, spec, details.get("estimate"),
                   details.get("estimate_source", "unknown"), details.get("pausable", True),
                   str(extra.get("by", "")), tag, index, details.get("revision", 0))

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def extra(self) -> dict[str, Any]:
        """Who queued it and its batch, as describe() and the store show them."""
        shown: dict[str, Any] = {"by": self.by} if self.by else {}
        if self.batch is not None:
            shown["batch"] = {"id": self.batch.id, "name": self.batch.name,
                              "index": self.batch_index, "size": self.batch.size}
        return shown

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "name": self.name,
                "estimate": self.estimate, "estimate_source": self.estimate_source,
                "pausable": self.pausable, "job": self.spec.body, **self.extra}

    def as_json(self) -> str:
        """describe() as compact JSON, kept until a field of the job is set again."""
        text = self._json
        if text is None:
            text = json.dumps(self.describe(), separators=(",", ":"))
            object.__setattr__(self, "_json", text)
        return text

    def __setattr__(self, name: str, value: Any) -> None:
        if JOURNAL.entries is not None and name != "_json":   # (__init__ sets fields directly)
            JOURNAL.entries.append((self, name, getattr(self, name)))
        object.__setattr__(self, name, value)
        if name != "_json":
            object.__setattr__(self, "_json", None)   # a 10,000-job queue re-joins, never
            #                                           re-encodes


def fields_of(job: Job) -> dict[str, Any]:
    """Every field of a job (for a checkpoint)."""
    return {name: getattr(job, name) for name in Job.__slots__}


@dataclass(frozen=True)
class Totals:
    known: float                 # seconds of the queued jobs that have an estimate
    unknown: int                 # how many have none
    batches: dict[int, int]      # batch id -> how many of its jobs are still queued


class _Counts:
    """Running sums over the queued jobs; seconds as whole microseconds, so adding and
    taking away never drifts."""

    def __init__(self) -> None:
        self.micro, self.unknown = 0, 0
        self.batches: dict[int, int] = {}

    def add(self, jobs: Iterable[Job], sign: int = 1) -> None:
        for job in jobs:
            if job.estimate is None:
                self.unknown += sign
            else:
                self.micro += sign * round(job.estimate * 1e6)
            if job.batch is not None:
                left = self.batches.get(job.batch.id, 0) + sign
                if left:
                    self.batches[job.batch.id] = left
                else:
                    del self.batches[job.batch.id]

    def remove(self, jobs: Iterable[Job]) -> None:
        self.add(jobs, -1)


Position = int | str | None


@dataclass(frozen=True)
class Where:
    """Where jobs go in the queue: at ``pos`` (an index, negative from the end, "front" or
    "back"), or just ``before`` or ``after`` the queued job with that id. Default: the back."""
    pos: Position = None
    before: Any = None
    after: Any = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.pos, self.before, self.after)) > 1:
            raise RequestRefused('say where with one of "pos", "before" or "after", not several')


def is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class JobQueue:
    """Queued jobs in running order. Every method either applies fully or raises."""

    def __init__(self, jobs: Iterable[Job] = ()):
        self._jobs: list[Job] = list(jobs)
        self._by_id: dict[int, Job] = {job.id: job for job in self._jobs}
        self._counts = _Counts()
        self._counts.add(self._jobs)

    def __len__(self) -> int:
        return len(self._jobs)

    def __iter__(self) -> Iterator[Job]:
        return iter(self._jobs)

    def __contains__(self, job_id: int) -> bool:
        return job_id in self._by_id

    def ids(self) -> list[int]:
        return [j.id for j in self._jobs]

    def get(self, job_id: Any) -> Job:
        if not isinstance(job_id, int) or isinstance(job_id, bool):
            raise RequestRefused(f"a job id is a whole number, not {shown(job_id)}")
        try:
            return self._by_id[job_id]
        except KeyError:
            raise RequestRefused(f"no queued job has id {job_id}") from None

    def index(self, job_id: Any) -> int:
        return self._jobs.index(self.get(job_id))       # by identity: a scan at C speed

    def restore(self, jobs: list[Job]) -> None:
        """Put back an order saved before (a checkpoint's)."""
        self._jobs[:] = jobs
        self._by_id = {job.id: job for job in jobs}
        self._counts = _Counts()
        self._counts.add(jobs)

    def insert_index(self, where: Where | Position = None) -> int:
        """Where new jobs go: see ``Where``; -1 is after the last job, -2 before it."""
        if not isinstance(where, Where):
            where = Where(pos=where)
        if where.before is not None:
            return self.index(where.before)
        if where.after is not None:
            return self.index(where.after) + 1
        pos, size = where.pos, len(self._jobs)
        if pos is None or pos == "back":
            return size
        if pos == "front":
            return 0
        if is_index(pos):
            index = pos if pos >= 0 else size + 1 + pos
            if 0 <= index <= size:
                return index
            raise RequestRefused(f"position {pos} is outside the queue ({-size - 1} to {size})")
        raise RequestRefused(f'a position is an index, "front" or "back", not {shown(pos)}')

    def at(self, pos: Any) -> Job:
        """The job at a position of the queue (0 is next, -1 the last)."""
        if not is_index(pos):
            raise RequestRefused(f"a position is a whole number, not {shown(pos)}")
        size = len(self._jobs)
        if not -size <= pos < size:
            raise RequestRefused(f"no job at position {pos}: the queue holds {size} job(s)"
                                 + (f" (0 to {size - 1}, or -1 for the last)" if size else ""))
        return self._jobs[pos]

    def add(self, jobs: list[Job], where: Where | Position = None) -> None:
        i = self.insert_index(where)
        self._jobs[i:i] = jobs
        self._by_id.update((job.id, job) for job in jobs)
        self._counts.add(jobs)

    def pop_next(self) -> Job | None:
        if not self._jobs:
            return None
        job = self._jobs.pop(0)
        del self._by_id[job.id]
        self._counts.remove([job])
        return job

    def take(self, job_id: int) -> Job:
        job = self._jobs.pop(self.index(job_id))
        del self._by_id[job.id]
        self._counts.remove([job])
        return job

    def remove(self, job_ids: list[int]) -> list[Job]:
        for job_id in job_ids:          # refuse before changing anything (a dict in words)
            self.get(job_id)
        if len(set(job_ids)) != len(job_ids):
            raise RequestRefused("the same id is listed twice")
        if len(job_ids) == 1:                   # the common case: one C-speed scan
            return [self.take(job_ids[0])]
        gone = set(job_ids)
        removed = [j for j in self._jobs if j.id in gone]
        self._jobs = [j for j in self._jobs if j.id not in gone]
        for job in removed:
            del self._by_id[job.id]
        self._counts.remove(removed)
        return removed

    def move(self, job_id: int, where: Where) -> None:
        """Move one job; ``pos`` is where it ends up (-1: last), ``before``/``after`` a job."""
        if where == Where():
            raise RequestRefused('say where to move the job: one of "pos", "before" or "after"')
        i = self.index(job_id)
        if job_id in (where.before, where.after):
            raise RequestRefused("a job cannot be moved next to itself")
        if where.pos is not None:
            pos, size = where.pos, len(self._jobs)
            target = {"front": 0, "back": size - 1}.get(pos) if isinstance(pos, str) else (
                (pos if pos >= 0 else size + pos) if is_index(pos) else None)
            if target is None or not 0 <= target < size:
                raise RequestRefused(f"position {shown(pos)} is outside the queue (0 to "
                                     f'{size - 1}, -1 for the last, "front" or "back")')
            self._jobs.insert(target, self._jobs.pop(i))
            return
        self.index(where.before if where.before is not None else where.after)
        job = self._jobs.pop(i)
        self._jobs.insert(self.insert_index(where), job)

    def replace(self, job_id: int, spec: JobSpec) -> Job:
        job = self.get(job_id)
        job.spec = spec
        return job

    def set_estimate(self, job: Job, seconds: float | None, source: str) -> None:
        """Set a queued job's estimate, keeping the queue's totals."""
        self._counts.remove([job])
        job.estimate, job.estimate_source = seconds, source
        self._counts.add([job])

    def totals(self) -> Totals:
        """Estimate totals and batch counts of the queued jobs, kept as jobs come and go
        (a move or a removal in a 10,000-job queue is not a sum over it)."""
        counts = self._counts
        return Totals(round(counts.micro / 1e6, 1), counts.unknown, dict(counts.batches))

    def clear(self) -> list[Job]:
        removed, self._jobs, self._by_id = self._jobs, [], {}
        self._counts = _Counts()
        return removed

    def stretches(self, job_ids: Iterable[int]) -> list[Stretch]:
        """Where these jobs stand: each run of them that stands together in the queue, with
        the ids of the jobs just before and just after it (None at an end), front first.
        Ids not queued are left out. For the store, which writes only what moved."""
        wanted = {job_id for job_id in job_ids if job_id in self._by_id}
        if len(wanted) <= FEW:                  # a few scans at C speed; a batch, one pass
            positions = sorted(self._jobs.index(self._by_id[job_id]) for job_id in wanted)
        else:
            positions = [i for i, job in enumerate(self._jobs) if job.id in wanted]
        out: list[Stretch] = []
        for i in positions:
            if out and out[-1].last == i - 1:
                out[-1].ids.append(self._jobs[i].id)
                out[-1].last = i
            else:
                out.append(Stretch(self._jobs[i - 1].id if i else None,
                                   [self._jobs[i].id], i))
        for stretch in out:
            after = stretch.last + 1
            stretch.after = self._jobs[after].id if after < len(self._jobs) else None
        return out


FEW = 8          # ids that stretches() looks up one by one rather than in one pass


@dataclass
class Stretch:
    """Queued jobs that stand together (``ids``, front first), between the job ``before``
    them and the job ``after`` them (ids; None at the front or back of the queue)."""
    before: int | None
    ids: list[int]
    last: int = field(repr=False)           # the position of the last of ``ids``
    after: int | None = None
