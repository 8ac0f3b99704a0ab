"""The queue's order in the store: one row per queued job, keyed by an order number.

Order numbers leave gaps (``SPACING`` apart when written in a run), so a job
added or moved between two others takes a number between theirs: one row is
written, whatever the queue's length. Only when two neighbours' numbers have
met (after some thirty moves into the same gap) are the rows around them
renumbered, a few at first, the stretch widened until it has room: a handful of
rows in practice, the whole queue only when nothing smaller has room.

The table's key is the order number itself (SQLite's rowid), so reading the
queue in order is one walk of the table, with no sort; a unique index on the
job id finds a job's number.
"""
from __future__ import annotations

import logging
import sqlite3
from typing import Iterable, Sequence

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (pos INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE);
"""
SPACING = 1 << 32          # between neighbours written in a run: 32 halvings of room
ROOM = 1 << 10             # the gap a renumbered stretch must leave between neighbours
WINDOW = 8                 # rows each side renumbered first; x4 until the stretch has room
LIMIT = 1 << 62            # order numbers stay well inside SQLite's 64-bit integers


class OrderLost(Exception):
    """The stored order does not hold a job the queue says is there (it should never
    happen): the caller writes the whole order again."""


class QueueOrder:
    """The stored order of the queue, in the connection's open transaction."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        db.executescript(SCHEMA)

    def ids(self) -> list[int]:
        return [job_id for (job_id,) in self.db.execute("SELECT id FROM queue ORDER BY pos")]

    def rewrite(self, ids: Sequence[int]) -> None:
        """The whole order, afresh (migration, a cleared queue, a lost order)."""
        self.db.execute("DELETE FROM queue")
        self._insert(zip(spread(None, None, len(ids)) or [], ids))

    def forget(self, ids: Iterable[int]) -> None:
        """Take these jobs out of the order (gone from the queue, or about to be placed)."""
        self.db.executemany("DELETE FROM queue WHERE id=?", [(i,) for i in ids])

    def holds(self, job_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM queue WHERE id=?", (job_id,)).fetchone() is not None

    def first(self, job_id: int) -> None:
        """Put a job at the head (e.g. a run the server died in, returned to the queue)."""
        head = self.db.execute("SELECT id FROM queue ORDER BY pos LIMIT 1").fetchone()
        self.place(None, [job_id], head[0] if head else None)

    def place(self, before: int | None, ids: Sequence[int], after: int | None) -> None:
        """Write ``ids`` (not in the order now) between the jobs ``before`` and ``after``
        (neighbours in the order; None at the front or back)."""
        low, high = self._pos(before), self._pos(after)
        numbers = spread(low, high, len(ids))
        if numbers is None:
            self._renumber_around(before, list(ids), after)
        else:
            self._insert(zip(numbers, ids))

    # -- inside ----------------------------------------------------------------

    def _pos(self, job_id: int | None) -> int | None:
        if job_id is None:
            return None
        row = self.db.execute("SELECT pos FROM queue WHERE id=?", (job_id,)).fetchone()
        if row is None:
            raise OrderLost(f"job {job_id} is queued but not in the stored order")
        return row[0]

    def _renumber_around(self, before: int | None, ids: list[int], after: int | None) -> None:
        """Renumber ``ids`` with up to ``window`` rows each side, evenly between the rows
        just outside; a wider window until the numbers leave ``ROOM`` between neighbours."""
        window = WINDOW
        while True:
            left, low = self._side(before, window, "<=", "DESC")
            right, high = self._side(after, window, ">=", "ASC")
            stretch = left[::-1] + ids + right
            numbers = spread(low, high, len(stretch), ROOM)
            if numbers is not None:
                break
            window *= 4
        log.debug("queue order: renumbered %d rows to make room", len(stretch))
        self.forget(left + right)
        self._insert(zip(numbers, stretch))

    def _side(self, job_id: int | None, window: int, compare: str,
              direction: str) -> tuple[list[int], int | None]:
        """Up to ``window`` ids from ``job_id`` outwards (nearest first), and the order
        number of the row just beyond them (None: they reach the end of the queue)."""
        if job_id is None:
            return [], None
        rows = self.db.execute(
            f"SELECT pos, id FROM queue WHERE pos {compare} ? ORDER BY pos {direction} LIMIT ?",
            (self._pos(job_id), window + 1)).fetchall()
        beyond = rows[window][0] if len(rows) > window else None
        return [job_id for _, job_id in rows[:window]], beyond

    def _insert(self, rows: Iterable[tuple[int, int]]) -> None:
        self.db.executemany("INSERT INTO queue (pos, id) VALUES (?, ?)", rows)


def spread(low: int | None, high: int | None, count: int, room: int = 1) -> list[int] | None:
    """``count`` order numbers between ``low`` and ``high`` (None: open that way), evenly
    and at least ``room`` apart from each other and from both; None if they do not fit."""
    if low is None and high is None:          # always fits: the whole queue, renumbered
        step = max(1, min(SPACING, LIMIT // (count + 1)))
        numbers = [step * (i + 1) for i in range(count)]
    elif low is None:
        numbers = [high - SPACING * (count - i) for i in range(count)]
    elif high is None:
        numbers = [low + SPACING * (i + 1) for i in range(count)]
    else:
        step = (high - low) // (count + 1)
        if step < room:
            return None
        numbers = [low + step * (i + 1) for i in range(count)]
    if numbers and not (-LIMIT <= numbers[0] and numbers[-1] <= LIMIT):
        return None
    return numbers
