"""Builds the caproto PV group from the PV table and keeps it up to date.

A put on a control PV calls its service action. A refusal fails the put (the
client gets the message back: caproto's client raises ErrorResponseReceived,
``caput -c`` exits non-zero) and is written to ``P:ERROR``.
"""
from __future__ import annotations

import logging
import math
from typing import Any

from caproto import AlarmSeverity, AlarmStatus, ChannelType
from caproto.server import PVGroup, pvproperty

from scriptserver.jobs.errors import RequestRefused

from .pvs import PVS, PV, to_json
from .service import ScriptServer

log = logging.getLogger(__name__)

DTYPES = {"json": ChannelType.CHAR, "text": ChannelType.CHAR, "long": ChannelType.LONG,
          "double": ChannelType.DOUBLE, "enum": ChannelType.ENUM, "longs": ChannelType.LONG}
INITIAL = {"json": "", "text": "", "long": 0, "double": 0.0, "enum": None, "longs": [0]}


def attr_name(pv: PV) -> str:
    return pv.name.lower().replace(":", "_")


def property_for(pv: PV) -> pvproperty:
    kwargs: dict[str, Any] = {"name": pv.name, "dtype": DTYPES[pv.kind], "doc": pv.doc,
                              "read_only": pv.action is None,
                              "alarm_group": pv.name}     # each PV its own alarm state
    if pv.kind in ("json", "text"):
        kwargs.update(value="", max_length=pv.size, string_encoding="utf-8")
    elif pv.kind == "longs":
        kwargs.update(value=[0], max_length=pv.size)
    elif pv.kind == "enum":
        kwargs.update(value=pv.enum[0], enum_strings=list(pv.enum))
    else:
        kwargs["value"] = INITIAL[pv.kind]
    if pv.units:
        kwargs.update(units=pv.units, precision=1 if pv.kind == "double" else 0)
    if pv.limits:
        low, high = pv.limits
        kwargs.update(lower_ctrl_limit=low, upper_ctrl_limit=high,
                      lower_disp_limit=low, upper_disp_limit=high)
    prop = pvproperty(**kwargs)
    if pv.action is not None:
        prop.putter(_putter(pv))
    return prop


def _putter(pv: PV):
    async def put(group: "ScriptServerPVs", instance, value):
        if not group.started:
            raise RequestRefused("the script server is still starting; try again in a moment")
        await group.service.act(pv, value)
        return value
    return put


class _Base(PVGroup):
    def __init__(self, *args, service: ScriptServer, **kwargs):
        super().__init__(*args, **kwargs)
        self.service = service
        self.started = False
        self.mirrors: list[Any] = []          # other faces fed the same values (PVA)
        self._published: dict[str, Any] = {}

    async def publish(self, topics: set[str]) -> None:
        for pv in PVS:
            if not topics.isdisjoint(pv.topics):
                await self._write(pv, pv.value(self.service))

    async def _write(self, pv: PV, value: Any) -> None:
        if pv.kind == "json" and not isinstance(value, str):
            value = to_json(value)
        if pv.kind in ("json", "text"):
            encoded = value.encode()
            if len(encoded) > pv.size:
                log.error("%s is %d bytes, over its %d: cut", pv.name, len(encoded), pv.size)
                value = encoded[: pv.size].decode("utf-8", "ignore")
        elif pv.kind == "longs":
            value = list(value)[: pv.size] or [0]
        unknown = isinstance(value, float) and math.isnan(value)
        key = "unknown" if unknown else value           # NaN never equals itself
        if self._published.get(pv.name, object()) == key:
            return
        self._published[pv.name] = key
        alarm = ({"status": AlarmStatus.UDF, "severity": AlarmSeverity.INVALID_ALARM} if unknown
                 else {"status": AlarmStatus.NO_ALARM, "severity": AlarmSeverity.NO_ALARM})
        await getattr(self, attr_name(pv)).write(value, verify_value=False, **alarm)
        for mirror in self.mirrors:
            mirror.update(pv, value)


ScriptServerPVs = type(PVGroup)("ScriptServerPVs", (_Base,),
                                {attr_name(pv): property_for(pv) for pv in PVS})
