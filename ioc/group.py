"""Builds the caproto PV group from the PV table and keeps it up to date.

A put on a control PV calls its service action. A refusal fails the put (the
client gets the message back: caproto's client raises ErrorResponseReceived,
``caput -c`` exits non-zero) and is written to ``P:ERROR``.

Large PVs (``lazy`` in the table: the queue, its ids, the history and their
HEX twins) are built only for someone. A change marks them stale; a read or a
new subscription that finds one stale builds it first (so a caget or a new
monitor right after a put is always current); one with monitors is rebuilt for
them as soon as the put has completed; one nobody watches is left stale. Their
PV Access mirrors (and the NTTables) follow at most MIRROR_PERIOD later, off the
put path: pvapy does not say who is connected, so they are never skipped, only
coalesced.

What a running job changes as fast as it likes (progress, line, message, output,
phases, and what follows from them) is written at most ``update_rate`` times a
second, all those PVs together (JOB:PHASE never shows a phase JOB:PHASES does not
have yet): the first change at once, later ones at the end of the period with the
values then, so the last value always arrives. A change of the job itself, of the
state or of the queue is written at once, after the reports held until then (so
PAUSED never comes before the progress the job made up to its pause).
"""
from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from typing import Any

import numpy as np
from caproto import AlarmSeverity, AlarmStatus, CaprotoValueError, ChannelType, SkipWrite
from caproto.server import PVGroup, pvproperty
from caproto.server.server import PvpropertyCharRO

from . import ca_access, refusals
from .access import need_of
from .gate import ACTING
from .pvs import PVS, PV, Topic
from .records import record_for
from .serialized import dumps
from .service import ScriptServer

log = logging.getLogger(__name__)

DTYPES = {"json": ChannelType.CHAR, "text": ChannelType.CHAR, "long": ChannelType.LONG,
          "double": ChannelType.DOUBLE, "enum": ChannelType.ENUM, "longs": ChannelType.LONG}
BACKLOG_WARN_ELEMENTS = 15_000_000  # caproto warns when max_length * backlog reaches this
MAX_BACKLOG = 1000                  # caproto's default backlog per subscription
FLUSH_AFTER = 0.001     # s: caproto answers a put over several loop turns; flush after them
MIRROR_PERIOD = 0.2     # s: large PVs' PVA mirrors are updated at most this often,
MIRROR_SHARE = 0.1      # and spend at most this share of the event loop's time
# What a job reports as often as it likes; a PV changed by these alone is rate-limited.
FAST = frozenset({Topic.PROGRESS, Topic.LINE, Topic.MESSAGE, Topic.OUTPUT, Topic.PHASES,
                  Topic.ELAPSED})
NOT_KEPT = {"AUTH:LOGIN"}   # a put's value is not kept as the PV's value (it is a token)


class CurrentForNewMonitors:
    """A new subscription to a large PV left stale (nobody watched it) gets it built
    first: caproto sends a new monitor the cached value without calling the getter."""

    async def subscribe(self, queue, sub_spec, sub):
        if self.getter is not None:              # type: ignore[attr-defined]
            await self.getter(self)              # type: ignore[attr-defined]
        await super().subscribe(queue, sub_spec, sub)   # type: ignore[misc]


def watched(channel: Any) -> bool:
    """Whether any client monitors this channel now (caproto 1.3 keeps, per client queue,
    the subscriptions by sync and data type; an ended one leaves an empty set)."""
    return any(specs for syncs in channel._queues.values() for types in syncs.values()
               for specs in types.values())


class JsonText(refusals.RefusedInWords, PvpropertyCharRO):
    """A read-only CHAR waveform holding its text as a byte array.

    caproto's own CHAR channel stores a str and, on every read and monitor
    update, turns it into a Python list of ints before making an array: about
    40 ms for a 2 MB queue, per client. Kept as bytes, a read is one copy.
    An empty text is one NUL byte (caget -S shows it as empty).
    """

    def preprocess_value(self, value):
        data = value.encode() if isinstance(value, str) else bytes(value)
        if len(data) > self._max_length:
            raise CaprotoValueError(f"{len(data)} bytes is over {self._max_length}")
        return np.frombuffer(data or b"\0", dtype=np.uint8)


LazyJsonText = type("LazyJsonText", (CurrentForNewMonitors, JsonText), {})


@functools.cache
def lazy_channel(dtype: ChannelType) -> type:
    """The read-only channel class of ``dtype`` for a PV built only for someone."""
    base = refusals.TYPE_MAP_READ_ONLY[dtype]
    return type("Lazy" + base.__name__, (CurrentForNewMonitors, base), {})


@functools.lru_cache(maxsize=256)
def shown_by(topics: frozenset[Topic]) -> tuple[PV, ...]:
    """The PVs a change of these topics republishes, in the table's order (small first:
    the table lists them before the large ones' builds, which come after the put)."""
    return tuple(pv for pv in PVS if not topics.isdisjoint(pv.topics))


def attr_name(pv: PV) -> str:
    return pv.name.lower().replace(":", "_")


def property_for(pv: PV) -> pvproperty:
    kwargs: dict[str, Any] = {"name": pv.name, "dtype": DTYPES[pv.kind], "doc": pv.doc,
                              "value": pv.initial, "read_only": pv.action is None,
                              "alarm_group": pv.name}     # each PV its own alarm state
    if pv.kind in ("json", "text", "longs"):
        # Only the latest value of a large PV matters to a monitor: a short backlog keeps a
        # slow client's queue small (and under caproto's warning threshold, so no warning).
        kwargs["max_subscription_backlog"] = max(1, min(
            MAX_BACKLOG, (BACKLOG_WARN_ELEMENTS - 1) // pv.size))
    if pv.kind in ("json", "text"):
        kwargs.update(max_length=pv.size, string_encoding="utf-8")
        if pv.kind == "json" and pv.action is None:
            kwargs["dtype"] = LazyJsonText if pv.lazy else JsonText
    elif pv.kind == "longs":
        kwargs["max_length"] = pv.size
    if pv.lazy and not isinstance(kwargs["dtype"], type):
        kwargs["dtype"] = lazy_channel(kwargs["dtype"])
    elif pv.kind == "enum":
        kwargs["enum_strings"] = list(pv.enum)
    if pv.units:
        kwargs["units"] = pv.units
    if pv.kind == "double":
        kwargs["precision"] = 1
    if pv.limits:
        low, high = pv.limits
        kwargs.update(lower_ctrl_limit=low, upper_ctrl_limit=high,
                      lower_disp_limit=low, upper_disp_limit=high)
    record = record_for(pv)
    if record is not None:
        kwargs["record"] = record
    prop = pvproperty(**kwargs)
    if pv.action is not None:
        prop.putter(_putter(pv))
    if pv.lazy:
        prop.getter(_getter(pv))
    return prop


def _getter(pv: PV):
    async def get(group: "ScriptServerPVs", instance):
        await group.refresh(pv)
        return None                         # the value is current now: serve it
    return get


def _putter(pv: PV):
    async def put(group: "ScriptServerPVs", instance, value):
        await group.service.act(pv, value, who=ACTING.get())
        if pv.view is not None and group._published.get(pv.name) == value:
            raise SkipWrite         # the action has shown it already: monitors get it once
        return "" if pv.name in NOT_KEPT else value
    return put


class _Base(PVGroup):
    type_map = refusals.TYPE_MAP                       # every put refused in words
    type_map_read_only = refusals.TYPE_MAP_READ_ONLY

    def __init__(self, *args, service: ScriptServer, **kwargs):
        super().__init__(*args, **kwargs)
        self.service = service
        self.mirrors: list[Any] = []          # other faces fed the same values (PVA)
        self._published: dict[str, Any] = {}
        self._alarms: dict[str, tuple[int, int]] = {}    # (severity, status) last written
        # large PVs changed since last built, and whose PVA mirror is behind: (PV, when)
        self._stale: dict[str, tuple[PV, float]] = {}
        self._mirror_stale: dict[str, tuple[PV, float]] = {}
        self._flushing: asyncio.Task | None = None
        self._building: dict[str, asyncio.Future] = {}   # large PVs being built now
        self._mirroring: asyncio.Task | None = None
        self._mirror_cost = 0.0                 # s the last update of those mirrors took
        # a job's fast PVs: when they last went out, which wait for the end of the period
        rate = service.config.update_rate
        self._period = 1.0 / rate if rate > 0 else 0.0
        self._fast_written = -math.inf          # when a job's reports last went out
        self._held: dict[str, PV] = {}
        self._releasing: asyncio.Task | None = None
        self.channels = {pv.name: getattr(self, attr_name(pv)) for pv in PVS}
        for pv in PVS:
            ca_access.guard(self.channels[pv.name], need_of(pv.name, pv.action is not None),
                            service.gate.rights)

    async def publish(self, topics: set[Topic]) -> None:
        now = time.time()                        # what a large PV shows is as of this change
        fast = bool(self._period) and topics <= FAST      # a job's report alone
        hold = fast and self._too_soon()
        if fast and not hold:
            self._fast_written = time.monotonic()         # this one goes out now
        if not fast and self._held:
            await self._release_now()       # what the job reported first is shown first
        for pv in shown_by(frozenset(topics)):
            if pv.lazy:
                self._stale[pv.name] = self._mirror_stale[pv.name] = (pv, now)
            elif hold:
                self._held[pv.name] = pv           # written at the end of the period
            else:
                self._held.pop(pv.name, None)
                await self._write(pv, pv.value(self.service.status))
        loop = asyncio.get_running_loop()
        if self._held and self._releasing is None:
            self._releasing = loop.create_task(self._release())
        if self._stale and self._flushing is None:
            self._flushing = loop.create_task(self._flush())
        if not self.mirrors:
            self._mirror_stale.clear()
        elif self._mirror_stale and self._mirroring is None:
            self._mirroring = loop.create_task(self._flush_mirrors())

    def _too_soon(self) -> bool:
        """Whether a job's report came less than a period after the last one sent out
        (or others wait already)."""
        return bool(self._held) or \
            time.monotonic() - self._fast_written < self._period

    async def _release(self) -> None:
        """Write the held fast PVs together when the period is over, with the values then."""
        try:
            while self._held:
                await asyncio.sleep(max(0.0, self._fast_written + self._period
                                        - time.monotonic()))
                await self._release_now()
        finally:
            self._releasing = None

    async def _release_now(self) -> None:
        self._fast_written = time.monotonic()
        held, self._held = self._held, {}
        for pv in held.values():
            await self._write(pv, pv.value(self.service.status))

    async def refresh(self, pv: PV) -> None:
        """Rebuild a lazy PV now if it is stale (a client is reading or subscribing). A
        build takes turns of the event loop: a read meanwhile waits for it, never gets
        the value from before the change."""
        while True:
            building = self._building.get(pv.name)
            if building is not None:
                await asyncio.shield(building)
                continue
            stale = self._stale.pop(pv.name, None)
            if stale is None:
                return
            done = self._building[pv.name] = asyncio.get_running_loop().create_future()
            try:
                await self._write(pv, await self._value(pv), mirror=False, when=stale[1])
            finally:
                del self._building[pv.name]
                done.set_result(None)

    async def _value(self, pv: PV) -> Any:
        """A large PV's value, its making spread over turns of the event loop."""
        for _ in self.service.status.prepare(pv.view):
            await asyncio.sleep(0)
        return pv.value(self.service.status)

    async def _flush(self) -> None:
        """Rebuild the stale large PVs that have monitors; leave the others stale."""
        try:
            await asyncio.sleep(FLUSH_AFTER)    # let the put that made them stale complete first
            while True:
                due = [stale for stale in self._stale.values()
                       if watched(self.channels[stale[0].name])]
                if not due:
                    return
                for pv, _ in due:
                    await self.refresh(pv)
        finally:
            self._flushing = None

    async def _flush_mirrors(self) -> None:
        """Bring the large PVs' PVA mirrors up to date, at most every MIRROR_PERIOD, and
        less often when that costs more than MIRROR_SHARE of the time (a 100,000-job
        queue's table): puts are not kept waiting behind them."""
        try:
            await asyncio.sleep(max(MIRROR_PERIOD, self._mirror_cost / MIRROR_SHARE))
            started = time.monotonic()
            stale, self._mirror_stale = self._mirror_stale, {}
            for pv, when in stale.values():
                faces = [mirror for mirror in self.mirrors if mirror.serves(pv)]
                if not faces:                   # e.g. the :HEX forms: nothing to make
                    continue
                value, alarm = self._shown(pv, await self._value(pv))
                for mirror in faces:
                    await mirror.update_large(pv, value, when, alarm)
            self._mirror_cost = time.monotonic() - started
        finally:
            self._mirroring = None
            if self._mirror_stale:              # changed while we were at it
                self._mirroring = asyncio.get_running_loop().create_task(
                    self._flush_mirrors())

    async def _write(self, pv: PV, value: Any, mirror: bool = True,
                     when: float | None = None) -> None:
        if pv.choices is not None:
            await self._offer(pv, tuple(getattr(self.service.status, pv.choices)))
        value, alarm = self._shown(pv, value)
        key = "unknown" if alarm[0] else value          # NaN never equals itself
        if self._published.get(pv.name, object()) == key:
            return
        self._published[pv.name] = key
        metadata: dict[str, Any] = {} if when is None else {"timestamp": when}
        if self._alarms.get(pv.name) != alarm:      # caproto publishes an alarm change apart
            self._alarms[pv.name] = alarm
            metadata.update({"status": AlarmStatus.UDF, "severity": AlarmSeverity.INVALID_ALARM}
                            if alarm[0] else {"status": AlarmStatus.NO_ALARM,
                                              "severity": AlarmSeverity.NO_ALARM})
        wire = np.asarray(value, dtype=np.int32) if pv.kind == "longs" else value
        channel = self.channels[pv.name]
        await channel.write(wire, verify_value=False, **metadata)
        if mirror:
            for face in self.mirrors:        # the same value, time and alarm on every face
                face.update(pv, value, channel.timestamp, alarm)

    def _shown(self, pv: PV, value: Any) -> tuple[Any, tuple[int, int]]:
        """The value as the PV holds it (JSON text within the PV's size, ids as a tuple),
        and its (severity, status): INVALID/UDF for an unknown number (NaN)."""
        if pv.kind == "json" and not isinstance(value, str):
            value = dumps(value)
        if pv.kind in ("json", "text"):
            size = len(value) if value.isascii() else len(value.encode())   # JSON is ASCII
            if size > pv.size:
                encoded = value.encode()
                log.error("%s is %d bytes, over its %d: not shown", pv.name, size, pv.size)
                value = (dumps({"truncated": {"bytes": len(encoded), "limit": pv.size}})
                         if pv.kind == "json"          # never JSON cut mid-way
                         else encoded[: pv.size].decode("utf-8", "ignore"))
        elif pv.kind == "longs":
            value = tuple(value)[: pv.size]      # variable length: caget shows these only
        unknown = isinstance(value, float) and math.isnan(value)
        return value, ((int(AlarmSeverity.INVALID_ALARM), int(AlarmStatus.UDF)) if unknown
                       else (0, 0))

    async def _offer(self, pv: PV, choices: tuple[str, ...]) -> None:
        """Change an enum's strings (before a value that is one of the new ones)."""
        if self._published.get(pv.name + ".choices") != choices:
            self._published[pv.name + ".choices"] = choices
            await self.channels[pv.name].write_metadata(enum_strings=choices)


ScriptServerPVs = type(PVGroup)("ScriptServerPVs", (_Base,),
                                {attr_name(pv): property_for(pv) for pv in PVS})
