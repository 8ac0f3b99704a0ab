"""Row windows: the queue and the history as scalar PVs, for widgets that cannot parse JSON.

``P:QUEUE:ROW:n:ID``, ``:NAME``, ``:KIND``, ``:ESTIMATE``, ``:BY`` show the job at
queue position ``QUEUE:ROWS:OFFSET + n``; ``P:HISTORY:ROW:n:ID``, ``:NAME``,
``:STATUS``, ``:DURATION``, ``:END`` the past run ``HISTORY:ROWS:OFFSET + n``
(0 is the newest). A row past the end shows id 0, empty texts and NaN numbers
(with an INVALID alarm). The rows are generated here and appended to the PV
table in ``pvs.py``; how many there are is the configuration's ``rows``.

Rows are built only for someone, like the large PVs (``lazy``): after a change of
the queue or history, the cells a client monitors are rewritten (only those whose
value changed), the others when read; the window of jobs is cut from the queue once
per change, not once per PV. A queue edit with no display open writes none of them.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from itertools import islice
from typing import Any, Callable

from scriptserver.jobs.errors import RequestRefused

DEFAULT_ROWS = 10
MAX_ROWS = 100
ROW_MARK = ":ROW:"           # in every row PV's name (and in no other)


@dataclass(frozen=True)
class Field:
    name: str
    kind: str                          # long | text | double, as in the PV table
    doc: str
    read: Callable[[Any], Any]         # the job (queue) or run (history) -> value
    units: str = ""

    @property
    def empty(self) -> Any:
        """What a row past the end shows."""
        return {"long": 0, "double": math.nan}.get(self.kind, "")


def _seconds(value: float | None) -> float:
    return math.nan if value is None else round(value, 1)


def _clock(stamp: float | None) -> str:
    return "" if stamp is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def submitter(job: Any) -> str:
    """Who queued the job (empty when the server does not know)."""
    return job.by


QUEUE_FIELDS = (
    Field("ID", "long", "id of the job at queue position QUEUE:ROWS:OFFSET + n (0: none)",
          lambda job: job.id),
    Field("NAME", "text", "its name", lambda job: job.name),
    Field("KIND", "text", "its kind: command, script or script_file", lambda job: job.kind),
    Field("ESTIMATE", "double", "seconds it is expected to take (NaN when unknown)",
          lambda job: _seconds(job.estimate), units="s"),
    Field("BY", "text", "who queued it (empty when not known)", submitter),
)
HISTORY_FIELDS = (
    Field("ID", "long", "job id of the past run HISTORY:ROWS:OFFSET + n, newest first "
          "(0: none)", lambda run: run.job_id),
    Field("NAME", "text", "its name", lambda run: run.name),
    Field("STATUS", "text", "how it ended: finished, failed, aborted, interrupted, skipped",
          lambda run: run.status),
    Field("DURATION", "double", "seconds it ran (NaN when unknown)",
          lambda run: _seconds(run.duration), units="s"),
    Field("END", "text", "when it ended, local time YYYY-MM-DD HH:MM:SS",
          lambda run: _clock(run.ended)),
)
# window -> what its rows show
FIELDS: dict[str, tuple[Field, ...]] = {"queue": QUEUE_FIELDS, "history": HISTORY_FIELDS}
OFFSET = "OFFSET"                    # the field name of the offset PVs (QUEUE:ROWS:OFFSET)


class RowWindows:
    """Which queue position and which past run row 0 shows, and the rows' cells.

    The status view keeps one; the row PVs read their cells from it.
    """

    def __init__(self, manager: Any, serialized: Any):
        self.manager = manager
        self.serialized = serialized
        self.offsets = {window: 0 for window in FIELDS}
        self._cut: dict[str, tuple[tuple, list]] = {}

    def set_offset(self, window: str, value: Any) -> None:
        try:
            offset = int(value)
        except (TypeError, ValueError):
            raise RequestRefused(f"the row offset must be a whole number, not {value!r}") \
                from None
        if offset < 0:
            raise RequestRefused(f"the row offset must be 0 or more, not {offset}")
        self.offsets[window] = offset

    def items(self, window: str, count: int) -> list:
        """The jobs (or runs) the rows show now, cut once per change of the window's topic."""
        offset = self.offsets[window]
        key = (self.serialized.versions.get(window, 0), offset, count)
        kept = self._cut.get(window)
        if kept is None or kept[0] != key:
            source = self.manager.queue if window == "queue" else self.manager.history
            kept = self._cut[window] = (key, list(islice(source, offset, offset + count)))
        return kept[1]

    def cell(self, window: str, count: int, index: int, name: str) -> Any:
        if name == OFFSET:
            return self.offsets[window]
        shown = next(f for f in FIELDS[window] if f.name == name)
        items = self.items(window, count)
        return shown.read(items[index]) if index < len(items) else shown.empty


def row_pvs(count: int = DEFAULT_ROWS) -> list:
    """The offset PVs and ``count`` rows of each window, as PV table entries."""
    from .pvs import PV, Topic           # here, not at the top: pvs.py imports this module

    @dataclass(frozen=True)
    class RowPV(PV):
        """A cell of a row window: its value is read from the status view's ``rows``."""
        window: str = ""
        index: int = 0
        cell: str = ""
        count: int = DEFAULT_ROWS

        def value(self, status: Any) -> Any:
            return status.rows.cell(self.window, self.count, self.index, self.cell)

    pvs = []
    for window, fields in FIELDS.items():
        stem = window.upper()
        topics = (Topic(window), Topic.ROWS)
        what = "queue position" if window == "queue" else "past run (0: the newest)"
        pvs.append(RowPV(f"{stem}:ROWS:OFFSET", "long", f"which {what} {stem}:ROW:0 shows; "
                         "row n shows the n-th after it (writable)", Topic.ROWS, "rows",
                         action=f"show_{window}_from", writable=True, window=window,
                         cell=OFFSET, count=count))
        for index in range(count):
            for shown in fields:
                pvs.append(RowPV(f"{stem}:ROW:{index}:{shown.name}", shown.kind, shown.doc,
                                 topics, "rows", units=shown.units, size=1_000, lazy=True,
                                 window=window, index=index, cell=shown.name, count=count))
    return pvs


def is_row(name: str) -> bool:
    return ROW_MARK in name or name.endswith(":ROWS:OFFSET")


def pattern(name: str) -> str:
    """``QUEUE:ROW:3:ID`` -> ``QUEUE:ROW:n:ID``: how README names a row PV."""
    head, _, tail = name.partition(ROW_MARK)
    return f"{head}{ROW_MARK}n:{tail.split(':', 1)[1]}" if tail else name


def resize(table: list, count: int) -> None:
    """Serve ``count`` rows per window: replace the row PVs of ``table`` in place.

    Called once at start, before the PV group is built from the table.
    """
    table[:] = [pv for pv in table if not is_row(pv.name)]
    table.extend(row_pvs(count))
