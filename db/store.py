"""SQLite store: every accepted change is committed before its put completes.

Tables: ``jobs`` (every job ever accepted, by id), ``runs`` (history: one row
per attempt), ``queue`` (the queue's order, one row per queued job: see
``order.py``; a move or removal writes one row), ``meta`` (the next job id, the
queue's policies). Stores written before ``queue`` existed kept the order as a
JSON list in ``meta``; it is moved into the table when such a store is opened.

Every commit is synchronous=FULL: in WAL mode, NORMAL would make a commit wait
for no disk at all, and an accepted put could then be lost to a power cut after
its client heard it completed, which the design rules out ("an accepted request
is on disk before its put completes"). It costs about 0.2 ms per commit here.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable

from scriptserver.jobs import effects as fx
from scriptserver.jobs.queue import Job, JobQueue
from scriptserver.jobs.spec import JobSpec

from . import guard, loading
from .guard import StoreDamaged, StoreUnavailable
from .order import OrderLost, QueueOrder

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, spec TEXT NOT NULL,
    details TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER NOT NULL, name TEXT NOT NULL,
    kind TEXT NOT NULL, job TEXT NOT NULL, status TEXT NOT NULL, started REAL NOT NULL,
    ended REAL, error TEXT NOT NULL DEFAULT '', traceback TEXT NOT NULL DEFAULT '',
    output TEXT NOT NULL DEFAULT '', paused REAL NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS runs_by_job ON runs (job_id);
"""
# Columns added since the first release: (table, column, definition), added on open.
MIGRATIONS = [("runs", "paused", "REAL NOT NULL DEFAULT 0")]
STORED = (fx.JobsSaved, fx.QueueChanged, fx.RunRecorded, fx.HistoryCleared, fx.PoliciesSet)
INTERRUPTED = "the script server stopped while this job ran; it was put back in the queue"

# What each queue change does to the stored order (fx.QueueChanged.op). An op not listed
# here writes the whole order again: slow, never wrong.
PLACES, TAKES, KEEPS, CLEARS = "places", "takes", "keeps", "clears"
ORDER_OPS = {"add": PLACES, "move": PLACES, "return": PLACES,
             "remove": TAKES, "skip": TAKES, "start": TAKES,
             "edit": KEEPS, "estimate": KEEPS, "clear": CLEARS}


class Store:
    """The store of one server. ``max_bytes`` caps the file's size (0: no cap): past it a
    change is refused as on a full disk (StoreUnavailable), and nothing is lost."""

    def __init__(self, path: Path, max_bytes: int = 0):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.chmod(0o700)            # queued scripts and their output are private
        self.path = path
        self.set_aside: list[str] = []       # queued jobs left out at load, in words
        first_id = guard.check_before_opening(path)
        existed = path.exists()
        path.touch(mode=0o600)
        path.chmod(0o600)                   # SQLite makes its -wal and -shm files alike
        try:
            self.db = sqlite3.connect(path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            guard.check_after_opening(path, self.db, first_id)
            self.db.execute("PRAGMA synchronous=FULL")
            if max_bytes:
                page = self.db.execute("PRAGMA page_size").fetchone()[0]
                self.db.execute(f"PRAGMA max_page_count={max(1, int(max_bytes) // page)}")
            self.db.executescript(SCHEMA)
            self.order = QueueOrder(self.db)
            for table, column, definition in MIGRATIONS:
                columns = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
                if column not in columns:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            self._order_from_meta()
            stored = self._meta("next_id", "")
            next_id = guard.check_contents(path, int(stored) if stored else None, first_id,
                                           existed)
            if str(next_id) != stored:                # a new store, or ids moved past the mark
                with self._transaction():
                    self._set_meta("next_id", str(next_id))
        except sqlite3.DatabaseError as err:
            raise StoreDamaged(guard.damaged_words(path, f"unusable ({err})", first_id)) \
                from None
        self._mark = first_id
        self._next_id = int(self._meta("next_id", "1"))       # as stored
        self._mark = self._reserve(self._next_id)

    def close(self) -> None:
        """Write the WAL back into the database file, then close (a clean stop)."""
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as err:
            log.warning("could not checkpoint the store on closing: %s", err)
        self.db.close()

    # -- loading -------------------------------------------------------------

    def load(self, history_length: int = 1000) -> tuple[int, list[Job], list[fx.Run]]:
        """(next id, queued jobs, newest history first), after crash recovery."""
        self._recover_interrupted()
        checked = self._meta("values_checked", "") == "1"
        queue = loading.queued_jobs(self.db, checked, self.set_aside)
        stored = self.db.execute("SELECT count(*) FROM queue").fetchone()[0]
        if len(queue) != stored or not checked:
            try:
                with self._transaction():
                    if len(queue) != stored:         # set aside, or no record: out of the order
                        self.order.rewrite([job.id for job in queue])
                    self._set_meta("values_checked", "1")
            except sqlite3.Error as err:             # a full disk: checked again next time
                log.warning("could not note the queue's check in the store: %s", err)
        return self._next_id, queue, self.history(history_length)

    def _order_from_meta(self) -> None:
        """A store from before the ``queue`` table kept the order as a JSON list in meta:
        move it into the table (in one transaction: a crash leaves the old or the new)."""
        old = self._meta("queue", "")
        if not old:
            return
        with self._transaction():
            self.order.rewrite(list(dict.fromkeys(json.loads(old))))
            self.db.execute("DELETE FROM meta WHERE key IN ('queue', 'values_checked')")
        log.info("the queue's order was moved into the store's queue table")

    def prune(self, runs_kept: int) -> None:
        """Delete all but the newest ``runs_kept`` runs (0: keep all), and the stored jobs
        no run, queue or id refers to any more; the space is reused by later writes."""
        if not runs_kept:
            return
        newest = self.db.execute("SELECT max(run_id) FROM runs").fetchone()[0] or 0
        if newest <= runs_kept:
            return
        try:
            with self._transaction():
                gone = self.db.execute("DELETE FROM runs WHERE run_id <= ?",
                                       (newest - runs_kept,)).rowcount
                self.db.execute("DELETE FROM jobs WHERE id NOT IN (SELECT id FROM queue) AND "
                                "id NOT IN (SELECT job_id FROM runs)")
        except sqlite3.Error as err:
            log.warning("could not delete old runs from the store: %s", err)
            return
        log.info("deleted %d old run(s) from the store (limits.runs_kept is %d)", gone,
                 runs_kept)

    def policies(self) -> dict[str, str]:
        """The queue policies the operator last set ({} if never): queue_mode, when_empty."""
        return json.loads(self._meta("policies", "{}"))

    def _recover_interrupted(self) -> None:
        """A run still 'running' means we died mid-job: record it, requeue it at the head."""
        rows = self.db.execute("SELECT run_id, job_id FROM runs WHERE status='running'").fetchall()
        if not rows:
            return
        with self._transaction():
            for run_id, job_id in rows:
                self.db.execute("UPDATE runs SET status='interrupted', ended=?, error=? "
                                "WHERE run_id=?", (time.time(), INTERRUPTED, run_id))
                if not self.order.holds(job_id):
                    self.order.first(job_id)
                log.warning("job %s was running when the server stopped: marked interrupted "
                            "and put back at the head of the queue", job_id)

    def _job(self, job_id: int) -> Job | None:
        row = self.db.execute("SELECT kind, spec, details FROM jobs WHERE id=?",
                              (job_id,)).fetchone()
        if row is None:
            return None
        kind, spec, details = row
        return Job.from_record(job_id, JobSpec(kind, json.loads(spec)), json.loads(details))

    # -- saving ----------------------------------------------------------------

    def apply(self, effects: Iterable[Any], next_id: int, queue: JobQueue) -> None:
        """Write what the manager changed, in one transaction (none if nothing is stored):
        the rows of new or edited jobs, of the jobs whose place in ``queue`` (the queue as
        it is now, after the effects) changed, of runs, and the next id if it moved."""
        effects = [e for e in effects if isinstance(e, STORED)]
        if not effects:
            return
        self._mark = self._reserve(next_id)
        new_runs = [e.run for e in effects
                    if isinstance(e, fx.RunRecorded) and e.run.run_id is None]
        try:
            self._write(effects, next_id, queue)
        except (sqlite3.Error, OSError) as err:
            for run in new_runs:
                run.run_id = None            # its row was rolled back: insert it again next time
            raise StoreUnavailable(self.unavailable_words(err)) from None
        self._next_id = next_id

    def unavailable_words(self, err: Exception) -> str:
        return (f"the store could not save this change ({err}); nothing was changed. Free "
                f"space on the disk holding {self.path.parent} (or make it writable), then "
                "try again")

    def _reserve(self, next_id: int) -> int:
        try:
            return guard.reserve(self.path, next_id, self._mark)
        except OSError as err:
            raise StoreUnavailable(self.unavailable_words(err)) from None

    def _write(self, effects: list[Any], next_id: int, queue: JobQueue) -> None:
        with self._transaction():
            for effect in effects:
                if isinstance(effect, fx.JobsSaved):
                    self._save_jobs(effect.jobs)
                elif isinstance(effect, fx.RunRecorded):
                    self._save_run(effect.run)
                elif isinstance(effect, fx.HistoryCleared):
                    last = self.db.execute("SELECT max(run_id) FROM runs").fetchone()[0]
                    self._set_meta("history_from", str(last or 0))
                elif isinstance(effect, fx.PoliciesSet):
                    self._set_meta("policies", json.dumps(
                        {"queue_mode": effect.queue_mode, "when_empty": effect.when_empty}))
            self._save_order([e for e in effects if isinstance(e, fx.QueueChanged)], queue)
            if next_id != self._next_id:
                self._set_meta("next_id", str(next_id))

    def _save_order(self, changes: list[fx.QueueChanged], queue: JobQueue) -> None:
        """Write the rows of the jobs whose place changed: each placed job goes between
        its neighbours in ``queue``, which by then are where they belong."""
        touched: dict[int, None] = {}               # out of the order, then...
        placed: dict[int, None] = {}                # ...back in it where the queue has them
        for change in changes:
            does = ORDER_OPS.get(change.op)
            if does in (CLEARS, None):
                self.order.rewrite(queue.ids())
                return
            if does != KEEPS:
                touched.update(dict.fromkeys(change.ids))
            if does == PLACES:
                placed.update(dict.fromkeys(change.ids))
        if not touched:
            return
        self.order.forget(touched)
        try:
            for stretch in queue.stretches(placed):
                self.order.place(stretch.before, stretch.ids, stretch.after)
        except (OrderLost, sqlite3.IntegrityError) as err:
            log.warning("the stored queue order was out of step (%s): written again whole", err)
            self.order.rewrite(queue.ids())

    def _save_jobs(self, jobs: Iterable[Job]) -> None:
        now = time.time()
        self.db.executemany(
            "INSERT INTO jobs (id, kind, spec, details, created) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET kind=excluded.kind, spec=excluded.spec, "
            "details=excluded.details",
            [(j.id, j.kind, json.dumps(j.spec.body), json.dumps(_details(j)), now) for j in jobs])

    def _save_run(self, run: fx.Run) -> None:
        values = (run.job_id, run.name, run.kind, json.dumps(run.job), run.status, run.started,
                  run.ended, run.error, run.traceback, run.output, run.paused)
        if run.run_id is None:
            cur = self.db.execute(
                "INSERT INTO runs (job_id, name, kind, job, status, started, ended, error, "
                "traceback, output, paused) VALUES (?,?,?,?,?,?,?,?,?,?,?)", values)
            run.run_id = cur.lastrowid
        else:
            self.db.execute(
                "UPDATE runs SET job_id=?, name=?, kind=?, job=?, status=?, started=?, ended=?, "
                "error=?, traceback=?, output=?, paused=? WHERE run_id=?", values + (run.run_id,))

    # -- reading ---------------------------------------------------------------

    def history(self, limit: int) -> list[fx.Run]:
        rows = self.db.execute(
            "SELECT run_id, job_id, name, runs.kind, job, status, started, ended, error, "
            "traceback, paused, json_extract(jobs.details, '$.extra.by') FROM runs "
            "LEFT JOIN jobs ON jobs.id = runs.job_id "
            "WHERE status != 'running' AND run_id > ? "
            "ORDER BY run_id DESC LIMIT ?", (int(self._meta("history_from", "0")), limit))
        return [fx.Run(job_id, name, kind, json.loads(job), status, started, ended, error, tb,
                       run_id=run_id, paused=paused, by=by or "")
                for run_id, job_id, name, kind, job, status, started, ended, error, tb, paused, by
                in rows]

    def job_record(self, job_id: int) -> dict[str, Any] | None:
        """A job as submitted plus every run of it, output included (for QUEUE:GET)."""
        job = self._job(job_id)
        if job is None:
            return None
        runs = self.db.execute(
            "SELECT run_id, status, started, ended, error, traceback, output, paused FROM runs "
            "WHERE job_id=? ORDER BY run_id", (job_id,)).fetchall()
        return {**job.describe(), "runs": [
            {"run": r, "status": s, "start": a, "end": b,
             "duration": None if b is None else round(b - a - p, 3), "paused": p,
             "error": e, "traceback": t, "output": o} for r, s, a, b, e, t, o, p in runs]}

    def durations(self, body: dict[str, Any], limit: int = 50) -> list[tuple[dict, float]]:
        """Recent finished runs of the same job (same command, script file or source):
        (job as submitted, seconds), newest first."""
        field = next(f for f in ("command", "script_file", "script") if f in body)
        rows = self.db.execute(
            "SELECT job, ended - started - paused FROM runs WHERE status='finished' "
            "AND json_extract(job, ?) = ? ORDER BY run_id DESC LIMIT ?",
            (f"$.{field}", body[field], limit))
        return [(json.loads(job), seconds) for job, seconds in rows]

    # -- inside ----------------------------------------------------------------

    def _meta(self, key: str, default: str) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) "
                        "DO UPDATE SET value=excluded.value", (key, value))

    def _transaction(self):
        return _Transaction(self.db)


def _details(job: Job) -> dict[str, Any]:
    return {"estimate": job.estimate, "estimate_source": job.estimate_source,
            "pausable": job.pausable, "extra": job.extra, "revision": job.revision}


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
                return
            except sqlite3.Error:
                self._rollback()
                raise
        self._rollback()

    def _rollback(self) -> None:
        if self.db.in_transaction:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error as err:      # already rolled back by SQLite itself
                log.debug("rollback: %s", err)
