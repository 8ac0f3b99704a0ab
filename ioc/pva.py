"""The PV Access face (pvapy): the same PVs as Channel Access, for PVA clients.

Status PVs are mirrored as NTScalar (JSON and enum values as strings); a put to a
control PV calls the same service action as over CA. pvapy applies a put before
telling us, so a refused PVA put is not failed back to the client: the refusal is
shown in ERROR, as for every refusal.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from .pvs import PVS, PV

log = logging.getLogger(__name__)


class PvaFace:
    def __init__(self, prefix: str, service, loop: asyncio.AbstractEventLoop):
        import pvaccess                      # imported here: the CA IOC runs without it
        self.pva = pvaccess
        self.prefix = prefix
        self.service = service
        self.loop = loop
        self.server = pvaccess.PvaServer()
        self.records: dict[str, Any] = {}        # one record per PV, updated in place
        for pv in PVS:
            record = self.records[pv.name] = self._record(pv, pv.initial)
            if pv.action is None:
                self.server.addRecord(prefix + pv.name, record)
            else:
                self.server.addRecord(prefix + pv.name, record, self._on_put(pv))

    def _record(self, pv: PV, value: Any):
        pva = self.pva
        if pv.kind == "longs":
            return pva.PvObject({"value": [pva.INT]}, {"value": _typed(pv, value)})
        kind = {"long": pva.INT, "double": pva.DOUBLE}.get(pv.kind, pva.STRING)
        return pva.NtScalar(kind, _typed(pv, value))

    def update(self, pv: PV, value: Any) -> None:
        try:
            record = self.records[pv.name]
            record["value"] = _typed(pv, value)
            self.server.update(self.prefix + pv.name, record)
        except Exception:  # noqa: BLE001 - PVA trouble must not stop the CA side
            log.exception("PVA update of %s failed", pv.name)

    def _on_put(self, pv: PV):
        def put(record) -> None:             # on a pvapy thread
            value = record["value"]
            self.loop.call_soon_threadsafe(
                lambda: asyncio.ensure_future(self._act(pv, value)))
        return put

    async def _act(self, pv: PV, value: Any) -> None:
        try:
            await self.service.act(pv, value)
        except Exception:  # noqa: BLE001 - already reported in ERROR
            pass


def _typed(pv: PV, value: Any) -> Any:
    converters = {"longs": lambda v: [int(x) for x in v], "long": int, "double": float}
    return converters.get(pv.kind, str)(value)


def start(prefix: str, service, loop: asyncio.AbstractEventLoop) -> PvaFace | None:
    """The PVA face, or None (with a warning) when pvapy is not installed."""
    try:
        return PvaFace(prefix, service, loop)
    except ImportError:
        log.warning("PV Access face off: pvapy is not installed (pip install pvapy)")
    except Exception:  # noqa: BLE001 - Channel Access serves on without it
        log.exception("PV Access face off: it could not start")
    return None
