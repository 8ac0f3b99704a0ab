"""Fixes to caproto 1.3.0's server hot paths, written as upstream patches would be.

Each fix names the caproto function it replaces, is applied only to the caproto
version it was written against (``PINNED``; on any other version none is applied
and a warning says so), and has a test in tests/test_ca_patch.py that fails
without it. ioc/transport.py holds the socket settings; this holds the code.

1. ``ChannelData.publish`` reads its per-data-type conversion cache under the
   type's *name* but stores into it under the ``ChannelType``: the cache never
   hits, so the value is converted again for every subscriber queue and for every
   monitor that starts before the next update. Fixed by a cache dict that files
   a ``ChannelType`` key under its name.

2. ``AsyncioEvent.wait(timeout)`` always goes through ``asyncio.wait_for``, which
   makes a task, a timer and extra turns of the event loop, even when the event is
   already set. caproto waits on its circuit's ``write_event`` before every read
   and every new monitor (it is set unless a put is under way). Fixed: a set event
   returns at once.

3. A circuit's monitor sender (``VirtualCircuit.subscription_queue_loop``), after
   each packet, waits up to ``HIGH_LOAD_TIMEOUT`` (1 ms here) for more updates to
   batch, through ``wait_for``: a task, a timer and a cancellation per update per
   client, and a second update published in the same step waits that 1 ms and
   goes in a packet of its own. With 100 monitoring clients that was most of the
   IOC's time per update. Replaced by a sender that waits for the first update,
   takes every update already queued (all those published in the same step are,
   by then), drops those of cancelled monitors and sends them as one packet. It
   never waits on a timer: under load, updates pile up while the previous packet
   drains, and the next packet takes them all, the oldest of a monitor dropped
   first past its backlog, as caproto does.

4. For each monitor update and each subscribing client, caproto builds a new
   ``EventAddResponse`` (converting the value to bytes again), validates it in the
   circuit's state machine, queues it and wakes that client's sender task, which
   sends it. Replaced, for a client whose connection is keeping up (nothing
   queued or being sent, its socket's buffer empty) and whose monitor has no
   channel filter: the update is encoded once per data type and count, and each
   client gets those bytes with its own subscription id, written to its socket at
   once. A client that is behind, or a filtered monitor, takes caproto's own path
   (its queue, its backlog that drops the oldest news first: fix 3).
"""
from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)

PINNED = "1.3.0"


class _ContentByName(dict):
    """``ChannelData._content``: a ChannelType key is filed under its name, the key the
    cache is read by (see the module's docstring, 1)."""

    def __setitem__(self, key, value) -> None:
        super().__setitem__(getattr(key, "name", key), value)


def _publish_cache_by_name() -> None:
    from caproto._data import ChannelData

    init = ChannelData.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self._content = _ContentByName()

    ChannelData.__init__ = __init__


def _set_event_returns_at_once() -> None:
    from caproto.asyncio import server

    waits = server.AsyncioEvent.wait

    async def wait(self, timeout=None):
        if self.is_set():                  # see the module's docstring, 2
            return True
        return await waits(self, timeout)

    server.AsyncioEvent.wait = wait


def _monitor_updates_without_waiting() -> None:
    from caproto.asyncio import server
    from caproto.server.common import HIGH_LOAD_EVENT_TIME_THRESHOLD, DisconnectedCircuit

    async def subscription_queue_loop(self) -> None:
        """Send this circuit's monitor updates (see the module's docstring, 3)."""
        self.events_on.set()
        queue = self.subscription_queue
        while True:
            try:
                refs = [await queue.get()]
                while not queue.empty():
                    refs.append(queue.get_nowait())
            except self.TaskCancelled:
                break
            commands = [command for command in (ref() for ref in refs) if command is not None]
            dropped = len(refs) - len(commands)
            if dropped and (time.monotonic() - self.time_events_toggled
                            > HIGH_LOAD_EVENT_TIME_THRESHOLD):
                self.log.warning("High load. Dropped %d responses.", dropped)
            # never an update after the EventCancelResponse of its monitor
            live = {sub.subscriptionid for subs in self.subscriptions.values() for sub in subs}
            commands = [command for command in commands if command.subscriptionid in live]
            if not commands:
                continue
            try:
                await self.send(*commands)
            except DisconnectedCircuit:
                await self._on_disconnect()
                self.circuit.disconnect()
                await self.context.circuit_disconnected(self)
                break
            except self.TaskCancelled:
                break

    server.VirtualCircuit.subscription_queue_loop = subscription_queue_loop


def _fan_out_encoded_once() -> None:
    from caproto.server.common import Context

    queue_for_circuit = Context._subscription_queue_send
    each_update = Context._subscription_queue_iteration

    async def _subscription_queue_iteration(self, sub_specs, metadata, values, flags, sub):
        self._encoded = {}         # (data type, count) -> (header, payload) of this update
        self._encoded_for_one = sub is not None     # a new monitor's first update
        try:
            await each_update(self, sub_specs, metadata, values, flags, sub)
        finally:
            self._encoded = None

    async def _subscription_queue_send(self, sub_spec, sub, metadata, values, flags):
        encoded = getattr(self, "_encoded", None)
        transport = _writable_now(sub)
        if encoded is None or transport is None:
            return await queue_for_circuit(self, sub_spec, sub, metadata, values, flags)
        if self._encoded_for_one and sub not in self.subscriptions.get(sub_spec, ()):
            return      # cancelled since this update was queued: caproto drops it at sending
        data_count = sub.data_count or len(values)
        key = (sub.data_type, data_count)
        if key not in encoded:
            command = sub.channel.subscribe(
                data=values if data_count == len(values) else values[:data_count],
                metadata=metadata, data_type=sub.data_type, data_count=data_count,
                subscriptionid=0, status=1)
            encoded[key] = (bytes(command.header), b"".join(command.buffers))
        header, payload = encoded[key]
        # the subscription id is the header's last 32-bit field (parameter 2); an
        # extended header (large payloads) carries two more fields after it
        transport.write(b"".join((header[:12], sub.subscriptionid.to_bytes(4, "big"),
                                  header[16:], payload)))

    Context._subscription_queue_iteration = _subscription_queue_iteration
    Context._subscription_queue_send = _subscription_queue_send


def _writable_now(sub):
    """The socket transport of this monitor's client if an update can be written to it
    now, in order and without queueing; else None (caproto's queued path is taken)."""
    circuit = sub.circuit
    filters = sub.channel_filter
    if (filters.dbnd is not None or filters.sync is not None or filters.arr is not None
            or not circuit.connected or not circuit.events_on.is_set()
            or not circuit.subscription_queue.empty()):
        return None
    client = circuit.client
    writer = getattr(client, "writer", None)
    if writer is None or client.send_lock.locked():
        return None
    transport = writer.transport
    if transport.is_closing() or transport.get_write_buffer_size():
        return None
    return transport


FIXES = {
    "publish cache by data type name": _publish_cache_by_name,
    "a set event returns at once": _set_event_returns_at_once,
    "monitor updates sent without waiting": _monitor_updates_without_waiting,
    "an update encoded once for every client": _fan_out_encoded_once,
}
_applied: list[str] = []


def apply() -> list[str]:
    """Apply every fix once (before the server starts); the names of those applied.

    On a caproto other than ``PINNED`` nothing is applied, and a warning says so:
    each fix replaces caproto code of that version and must be checked again."""
    import caproto
    if caproto.__version__ != PINNED:
        log.warning("caproto %s is installed; the fixes in %s were written for caproto %s "
                    "and are NOT applied: CA reads, puts and monitors run slower until "
                    "they are checked against this version (tests/test_ca_patch.py)",
                    caproto.__version__, __name__, PINNED)
        return []
    for name, fix in FIXES.items():
        if name not in _applied:
            fix()
            _applied.append(name)
    return list(_applied)
