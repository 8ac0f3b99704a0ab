"""Guarding the store: a damaged store is refused, and job ids never repeat.

Beside the store lives a small side file, ``<store>.ids``, holding a mark no
job id has reached yet. Its presence says a store existed here: a store file
that is then empty, truncated or not SQLite at all is refused at start with
words, never started empty over. If the operator moves the damaged file away
on purpose, a fresh store starts its ids from the mark, so an id seen in a log
or a beamline notebook never names two jobs.

The mark is moved forward in steps of ``RESERVE`` ids, so it is written once
per thousand new jobs, not at every add.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)

RESERVE = 1000
SQLITE_HEADER = b"SQLite format 3\x00"


class StoreDamaged(Exception):
    """The store cannot be opened as it is; the message says what to do."""


class StoreUnavailable(Exception):
    """The store could not save a change (disk full, read-only folder...); nothing was
    changed. The message names the cause and what to do."""


def side_file(store: Path) -> Path:
    return store.with_name(store.name + ".ids")


def check_before_opening(store: Path) -> int:
    """The first id a fresh store may give (1 if none was ever given here); raises
    StoreDamaged when the store file is there but cannot be a store."""
    mark = read_mark(store)
    if not store.exists():
        if mark > 1:
            log.warning("no store at %s but ids up to %d were given here: starting an empty "
                        "store whose ids continue from %d", store, mark - 1, mark)
        return mark
    size = store.stat().st_size
    if size == 0:
        # In WAL mode a young store may live in its -wal file only; SQLite reads it from
        # there, and check_contents() then finds out whether anything is missing.
        if mark > 1 and not _has_wal(store):
            raise StoreDamaged(damaged_words(store, "empty (0 bytes)", mark))
        return mark
    with store.open("rb") as head:
        if head.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise StoreDamaged(damaged_words(store, f"not an SQLite database ({size} bytes)",
                                             mark))
    return mark


def check_contents(store: Path, stored_next_id: int | None, mark: int, existed: bool) -> int:
    """The next id to give, from the store's own and the side file's; raises StoreDamaged
    when a store that existed holds nothing although ids were given here."""
    if stored_next_id is None:
        if existed and mark > 1:
            raise StoreDamaged(damaged_words(store, "empty (it holds no queue, yet job ids up "
                                             f"to {mark - 1} may have been given here)", mark))
        return mark
    if stored_next_id < mark - RESERVE:
        # an older copy of the store (e.g. restored from a backup): ids go on past the mark
        log.warning("the store gives id %d next but ids up to %d may have been given here: "
                    "new ids continue from %d", stored_next_id, mark - 1, mark)
        return mark
    return stored_next_id


def check_after_opening(store: Path, db: sqlite3.Connection, mark: int) -> None:
    """A quick check of the file's structure (pages, not every row)."""
    try:
        verdict = db.execute("PRAGMA quick_check(1)").fetchone()[0]
    except sqlite3.DatabaseError as err:
        raise StoreDamaged(damaged_words(store, f"unreadable ({err})", mark)) from None
    if verdict != "ok":
        raise StoreDamaged(damaged_words(store, f"damaged ({verdict})", mark))


def damaged_words(store: Path, what: str, mark: int) -> str:
    return (f"the store {store} is {what}, so the queue and history in it cannot be read; the "
            "script server will not start over it with an empty queue. Restore the file from "
            "a backup; or, to start afresh, move it away (with any "
            f"{store.name}-wal/-shm beside it): new job ids will then continue from "
            f"{max(mark, 1)} ({side_file(store).name} remembers them)")


def read_mark(store: Path) -> int:
    try:
        return int(json.loads(side_file(store).read_text())["next_id_at_least"])
    except FileNotFoundError:
        return 1
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise StoreDamaged(f"{side_file(store)} (the record of job ids given) cannot be read: "
                           f"{err}; restore it, or delete it if the store beside it is sound") \
            from None


def reserve(store: Path, next_id: int, mark: int) -> int:
    """Move the mark past ``next_id`` when it gets close; the (possibly new) mark.
    Written to a temporary file then renamed, so a crash leaves the old or the new mark."""
    if next_id < mark:
        return mark
    new_mark = next_id + RESERVE
    path = side_file(store)
    temporary = path.with_name(path.name + ".new")
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        os.fchmod(out.fileno(), 0o600)             # private, as the store beside it
        json.dump({"next_id_at_least": new_mark}, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    return new_mark


def _has_wal(store: Path) -> bool:
    wal = store.with_name(store.name + "-wal")
    return wal.exists() and wal.stat().st_size > 0
