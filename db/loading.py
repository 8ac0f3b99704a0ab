"""Reading the queue back at start: one query, one decode, no per-job checks once checked.

A store with 100,000 queued jobs is read as one query whose rows are joined into one
JSON text and decoded in one call (half the time of decoding 200,000 small texts).

Jobs an older version accepted that no job process could be sent (e.g. lone
surrogates in a name) would fail at every start, for ever: such a job is set aside
(noted, and left out of the queue; its record stays, for QUEUE:GET and REQUEUE).
Only stored text that could hold what check_value() refuses is checked in full, and
only until a load has found every queued job sound (``values_checked`` in meta): jobs
queued since then passed the same checks at admission. A store an older version wrote
to (its order migrated from meta) is checked again.
"""
from __future__ import annotations

import gc
import json
import logging
import re
import sqlite3
from contextlib import contextmanager
from typing import Iterator

from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.queue import BatchTag, Job
from scriptserver.jobs.spec import JobSpec
from scriptserver.jobs.values import check_value

log = logging.getLogger(__name__)

# Stored job text that could hold what check_value() refuses: escaped surrogates or NUL,
# long numbers, NaN/Infinity.
SUSPECT = re.compile(r"\\u(?:[dD][89a-fA-F]|0000)|\d{19}|NaN|Infinity")
DEEP = 10_000              # nesting depth at which a stored job is set aside
QUEUED = "FROM queue JOIN jobs ON jobs.id = queue.id ORDER BY queue.pos"
CHUNK = 5000               # rows decoded at once


def queued_jobs(db: sqlite3.Connection, checked: bool, set_aside: list[str]) -> list[Job]:
    """The queued jobs in order; those set aside are noted in ``set_aside`` and left out."""
    with _no_garbage_collection():
        queue = _at_once(db, checked)
        if queue is None:                   # some text needs a closer look: job by job
            rows = db.execute(f"SELECT jobs.id, kind, spec, details {QUEUED}")
            queue = [job for job in (_from_row(row, set_aside) for row in rows)
                     if job is not None]
    return queue


def _at_once(db: sqlite3.Connection, checked: bool) -> list[Job] | None:
    """Every queued job, ``CHUNK`` rows at a time joined into one text and decoded in one
    call (chunks: the texts and rows of one are freed before the next is read, so they do
    not stay behind as memory scattered between the jobs). None if a job needs a closer
    look (a text does not decode, or was never checked and holds something SUSPECT)."""
    rows = db.execute("SELECT '[' || jobs.id || ',\"' || kind || '\",' || spec || ',' "
                      f"|| details || ']' {QUEUED}")
    batches: dict[int, BatchTag] = {}             # one tag for the jobs of a batch
    queue: list[Job] = []
    while chunk := rows.fetchmany(CHUNK):
        text = "[" + ",".join([row for (row,) in chunk]) + "]"
        del chunk
        if not checked and SUSPECT.search(text) is not None:
            return None
        try:
            decoded = json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            return None
        del text
        queue += [Job.from_record(job_id, JobSpec(kind, body), fields, batches)
                  for job_id, kind, body, fields in decoded]
    return queue


def _from_row(row: tuple[int, str, str, str], set_aside: list[str]) -> Job | None:
    """One queued job, or None (noted in ``set_aside``) if it cannot be sent to a job."""
    job_id, kind, spec, details = row
    try:
        body = json.loads(spec, parse_constant=_refuse_constant)
        if SUSPECT.search(spec) is not None or len(spec) >= 2 * DEEP:   # deeper needs more
            check_value(body, f"job {job_id}", max_depth=DEEP)
    except (RequestRefused, RecursionError, ValueError) as refused:
        words = str(refused) if isinstance(refused, RequestRefused) else \
            f"job {job_id} cannot be read back ({type(refused).__name__}: {refused})"
        set_aside.append(f"{words}: taken out of the queue at start")
        log.warning("%s: taken out of the queue at start", words)
        return None
    return Job.from_record(job_id, JobSpec(kind, body), json.loads(details))


@contextmanager
def _no_garbage_collection() -> Iterator[None]:
    """Python's cycle collector runs again and again while 100,000 jobs are built (their
    dicts count as new containers) and walks an ever larger heap each time: a third to
    half of the load's time, to find no cycles (jobs hold none). Off while they are built."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")
