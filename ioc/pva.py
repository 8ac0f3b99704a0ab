"""The PV Access face (pvapy): the same PVs as Channel Access, as normative types.

Every PV of the table is served with the same value, alarm and timestamp as over
CA: numbers and text as ``NTScalar`` (alarm, timeStamp, display with units,
limits, format and description, control limits), enums as ``NTEnum``, id arrays
as ``NTScalarArray``. The queue and history are also served as ``NTTable``s
(``P:QUEUE:TABLE``, ``P:HISTORY:TABLE``) for table widgets.

Read-only. pvapy 5.6's PvaServer tells a put callback nothing about who is
writing (no peer address, no account), so no PVA put can get the access decision
a CA put gets (ioc/access.py). Control over PVA is therefore off: control PVs,
``TOKEN`` and ``USERS`` are not served, and the status PVs are served under the
PVA server's own access security with one rule, READ, so a PVA put is refused
and changes nothing. The server binds EPICS_PVAS_INTF_ADDR_LIST, which main.py
sets to the configured interfaces (default 127.0.0.1) unless the environment does.
"""
from __future__ import annotations

import asyncio
import logging
import math
import os
import tempfile
from typing import Any, Callable

from .access import NEEDS, Need
from .pvs import PVS, PV
from .rows import submitter

log = logging.getLogger(__name__)

# Columns of the NTTables: (label, type, how to read it from a queued job or a past run,
# empty value). Read from the jobs and runs themselves, not by parsing the JSON PVs.
QUEUE_COLUMNS = [("id", "INT", lambda j: j.id, 0), ("name", "STRING", lambda j: j.name, ""),
                 ("kind", "STRING", lambda j: j.kind, ""),
                 ("estimate", "DOUBLE", lambda j: j.estimate, math.nan),
                 ("estimate_source", "STRING", lambda j: j.estimate_source, ""),
                 ("by", "STRING", submitter, "")]
HISTORY_COLUMNS = [("id", "INT", lambda r: r.job_id, 0), ("run", "INT", lambda r: r.run_id, 0),
                   ("name", "STRING", lambda r: r.name, ""),
                   ("kind", "STRING", lambda r: r.kind, ""),
                   ("status", "STRING", lambda r: r.status, ""),
                   ("start", "DOUBLE", lambda r: r.started, math.nan),
                   ("end", "DOUBLE", lambda r: r.ended, math.nan),
                   ("duration", "DOUBLE", lambda r: r.duration, math.nan),
                   ("error", "STRING", lambda r: r.error, ""),
                   ("by", "STRING", lambda r: r.by, "")]
TABLE_CHUNK = 1_000        # rows of a table built between two turns of the event loop
READ_ONLY_ACF = "ASG(DEFAULT) {\n    RULE(1, READ)\n}\n"
READ_ONLY_GROUP = "DEFAULT"
# source PV -> (table PV, columns, what its rows are: the queued jobs or the runs shown)
TABLES = {"QUEUE": ("QUEUE:TABLE", QUEUE_COLUMNS, lambda status: status.manager.queue),
          "HISTORY": ("HISTORY:TABLE", HISTORY_COLUMNS, lambda status: status.manager.history)}


class PvaFace:
    def __init__(self, prefix: str, service, loop: asyncio.AbstractEventLoop):
        import pvaccess                      # imported here: the CA IOC runs without it
        self.pva = pvaccess
        self.prefix = prefix
        self.service = service
        self.loop = loop
        self.server = pvaccess.PvaServer()
        _read_only(self.server)
        self.records: dict[str, Any] = {}        # one record per PV served, updated in place
        for pv in PVS:
            if served(pv):
                record = self.records[pv.name] = self._record(pv)
                self.server.addRecordWithAs(prefix + pv.name, record, 1, READ_ONLY_GROUP)
        for source, (name, columns, _) in TABLES.items():
            self.records[name] = self._table(columns, f"{source} as a table")
            self.server.addRecordWithAs(prefix + name, self.records[name], 1, READ_ONLY_GROUP)

    # -- building records ---------------------------------------------------------

    def _record(self, pv: PV):
        pva = self.pva
        if pv.kind == "enum":
            record = pva.NtEnum(list(pv.enum), 0)
        elif pv.kind == "longs":
            record = pva.PvObject({"value": [pva.INT], "descriptor": pva.STRING,
                                   "alarm": _alarm_type(pva), "timeStamp": _time_type(pva)},
                                  "epics:nt/NTScalarArray:1.0")
        else:
            kind = {"long": pva.INT, "double": pva.DOUBLE}.get(pv.kind, pva.STRING)
            record = pva.NtScalar(kind, _typed(pv, pv.initial))
            low, high = pv.limits or (0.0, 0.0)
            record["display"] = {"limitLow": low, "limitHigh": high, "description": pv.doc[:200],
                                 "units": pv.units,
                                 "format": "%.1f" if pv.kind == "double" else ""}
            record["control"] = {"limitLow": low, "limitHigh": high, "minStep": 0.0}
        record["descriptor"] = pv.doc[:200]
        return record

    def _table(self, columns: list[tuple], description: str):
        pva = self.pva
        types = {label: [getattr(pva, kind)] for label, kind, _, _ in columns}
        record = pva.PvObject({"labels": [pva.STRING], "value": types, "descriptor": pva.STRING,
                               "alarm": _alarm_type(pva), "timeStamp": _time_type(pva)},
                              "epics:nt/NTTable:1.0")
        record["labels"] = [label for label, _, _, _ in columns]
        record["descriptor"] = description
        return record

    # -- updates from the CA side ----------------------------------------------------

    def serves(self, pv: PV) -> bool:
        return pv.name in self.records

    async def update_large(self, pv: PV, value: Any, timestamp: float,
                           alarm: tuple[int, int]) -> None:
        """``update`` for a large PV, and its table when it has one (QUEUE, HISTORY: 100,000
        rows for a long queue), built a chunk at a time, letting the event loop answer
        clients in between. Large PVs come here only (ioc/group.py)."""
        self.update(pv, value, timestamp, alarm)
        if pv.name not in TABLES:
            return
        name, columns, rows = TABLES[pv.name]
        shown = list(rows(self.service.status))            # as of now; a change flushes again
        cells: dict[str, list] = {label: [] for label, _, _, _ in columns}
        for start in range(0, len(shown), TABLE_CHUNK):
            part = shown[start:start + TABLE_CHUNK]
            for label, _, read, empty in columns:
                cells[label] += [_cell(read(row), empty) for row in part]
            await asyncio.sleep(0)
        try:
            record = self.records[name]
            record["value"] = cells
            _stamp(record, timestamp, (0, 0))
            self.server.update(self.prefix + name, record)
        except Exception:  # noqa: BLE001 - PVA trouble must not stop the CA side
            log.exception("PVA update of %s failed", name)

    def update(self, pv: PV, value: Any, timestamp: float = 0.0,
               alarm: tuple[int, int] = (0, 0)) -> None:
        """The CA PV got ``value``: mirror it with the same timestamp and alarm."""
        record = self.records.get(pv.name)
        if record is None:
            return                               # not served over PVA
        try:
            if pv.kind == "enum":
                choices = self._choices(pv)
                record["value"] = {"index": choices.index(value) if value in choices else 0,
                                   "choices": list(choices)}
            else:
                record["value"] = _typed(pv, value)
            _stamp(record, timestamp, alarm)
            self.server.update(self.prefix + pv.name, record)
        except Exception:  # noqa: BLE001 - PVA trouble must not stop the CA side
            log.exception("PVA update of %s failed", pv.name)

    def _choices(self, pv: PV) -> tuple[str, ...]:
        """An enum's strings: fixed, or (FORM:COMMAND) as the status view offers them now."""
        return tuple(getattr(self.service.status, pv.choices)) if pv.choices else pv.enum


def served(pv: PV) -> bool:
    """Status PVs only (QUEUE:MODE too, read-only): no control PV, no secret (TOKEN, USERS),
    and no ``:HEX`` twin (compressed text is the IBEX block server's Channel Access habit;
    a PVA client reads the JSON or the NTTable, and the server saves compressing it)."""
    return NEEDS.get(pv.name) is not Need.SECRET and (pv.action is None or pv.writable) \
        and not pv.name.endswith(":HEX")


def _read_only(server) -> None:
    """Turn on the PVA server's access security with one rule: everyone may READ."""
    handle, path = tempfile.mkstemp(suffix=".acf")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(READ_ONLY_ACF)
        server.initAs(path, "")
    finally:
        os.unlink(path)
    if not server.isAsActive():
        raise RuntimeError("PVA access security did not start: PVA face left off")


def _alarm_type(pva) -> dict:
    return {"severity": pva.INT, "status": pva.INT, "message": pva.STRING}


def _time_type(pva) -> dict:
    return {"secondsPastEpoch": pva.LONG, "nanoseconds": pva.INT, "userTag": pva.INT}


def _stamp(record, timestamp: float, alarm: tuple[int, int]) -> None:
    seconds = int(timestamp)
    record["timeStamp"] = {"secondsPastEpoch": seconds,
                           "nanoseconds": int((timestamp - seconds) * 1e9), "userTag": 0}
    severity, status = alarm
    record["alarm"] = {"severity": severity, "status": status,
                       "message": "UDF" if severity else ""}


def _cell(value: Any, empty: Any) -> Any:
    if value is None:
        return empty
    return type(empty)(value) if not isinstance(empty, str) else str(value)


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "longs": lambda v: [int(x) for x in v], "long": int, "double": float}


def _typed(pv: PV, value: Any) -> Any:
    return CONVERTERS.get(pv.kind, str)(value)


def start(prefix: str, service, loop: asyncio.AbstractEventLoop) -> PvaFace | None:
    """The PVA face, or None (with a warning) when pvapy is not installed."""
    try:
        return PvaFace(prefix, service, loop)
    except ImportError:
        log.warning("PV Access face off: pvapy is not installed (pip install pvapy)")
    except Exception:  # noqa: BLE001 - Channel Access serves on without it
        log.exception("PV Access face off: it could not start")
    return None
