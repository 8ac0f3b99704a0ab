"""The caproto fixes in ioc/ca_patch.py: each applies to the pinned caproto and does its job.

Each test fails when its fix is taken out of ``ca_patch.FIXES``. The server side is
caproto's own asyncio server run in this process (so the test can count what it
does); the clients are real: caproto's threading client over loopback TCP.
"""
from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter

import caproto
import numpy as np
import pytest
from caproto import ChannelType

from conftest import _port_pool
from scriptserver.ioc import ca_patch, transport

TIMEOUT = 10.0


@pytest.fixture(scope="module", autouse=True)
def patched():
    transport.tune_before_import()
    transport.no_delay_on_connections()
    return ca_patch.apply()


def test_every_fix_applies_to_the_pinned_caproto(patched):
    """If caproto is upgraded this fails: check each fix against the new code first."""
    assert caproto.__version__ == ca_patch.PINNED
    assert patched == list(ca_patch.FIXES)


async def _until(condition, what: str, timeout: float = TIMEOUT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def serving(group):
    """caproto's asyncio server for ``group`` on a free loopback port, in this loop."""
    from caproto.asyncio.server import Context
    port = next(_port_pool)               # one of those CA clients of the tests look at
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EPICS_CA_SERVER_PORT", str(port))
        env.setenv("EPICS_CAS_BEACON_ADDR_LIST", "127.0.0.1")
        env.setenv("EPICS_CAS_AUTO_BEACON_ADDR_LIST", "NO")
        ctx = Context(group.pvdb, interfaces=["127.0.0.1"])
        server = asyncio.ensure_future(ctx.run())
        try:
            await _until(lambda: ctx.port, "the server to listen")
            yield ctx
        finally:
            server.cancel()
            await asyncio.gather(server, return_exceptions=True)


def _group(prefix: str):
    from caproto.server import PVGroup, pvproperty

    class Pair(PVGroup):
        first = pvproperty(value=0, name="FIRST")
        second = pvproperty(value=0.0, name="SECOND")
        text = pvproperty(value="start", name="TEXT", max_length=100, string_encoding="utf-8")
        big = pvproperty(value="start", name="BIG", max_length=100_000, string_encoding="utf-8")

    return Pair(prefix=prefix)


class Monitors:
    """caproto's threading client monitoring PVs (its own threads, its own circuit)."""

    def __init__(self, names: list[str], data_type: str = "native"):
        from caproto.threading.client import Context, SharedBroadcaster
        self.updates: dict[str, list] = {name: [] for name in names}
        self.lock = threading.Lock()
        self.broadcaster = SharedBroadcaster()
        self.context = Context(self.broadcaster)
        self.keep = []
        for pv in self.context.get_pvs(*names, timeout=TIMEOUT):
            pv.wait_for_connection(timeout=TIMEOUT)
            sub = pv.subscribe(data_type=data_type)

            def on_update(sub, response, name=pv.name):
                with self.lock:
                    self.updates[name].append(response)
            sub.add_callback(on_update)
            self.keep.append((sub, on_update))

    def values(self, name: str) -> list:
        with self.lock:
            return [r.data for r in self.updates[name]]

    def close(self) -> None:
        self.context.disconnect()
        self.broadcaster.disconnect()


def test_updates_published_in_one_step_go_out_in_one_packet():
    """A client that is behind (its previous packet still being sent) gets the updates
    queued meanwhile in one packet: caproto sent the first alone and held the second
    ~1 ms for a packet of its own, through a timer per update per client."""
    group = _group("PATCH:STEP:")
    names = ["PATCH:STEP:FIRST", "PATCH:STEP:SECOND"]

    async def run() -> tuple[list, list, list]:
        async with serving(group) as ctx:
            monitors = await asyncio.to_thread(Monitors, names)
            try:
                await _until(lambda: all(monitors.values(n) for n in names), "first updates")
                circuit, = ctx.circuits
                sends: list[list[str]] = []
                plain_send = circuit.send

                async def counted(*commands):
                    sends.append([type(c).__name__ for c in commands])
                    return await plain_send(*commands)
                circuit.send = counted
                for i in range(1, 6):
                    async with circuit.client.send_lock:     # as while a packet drains
                        await group.first.write(i)
                        await group.second.write(i / 2)
                        await asyncio.sleep(0)             # the sender takes what is queued
                    await _until(lambda: len(monitors.values(names[1])) == i + 1, "both updates")
                return sends, monitors.values(names[0]), monitors.values(names[1])
            finally:
                monitors.close()

    sends, first, second = asyncio.run(asyncio.wait_for(run(), 30))
    assert [list(v) for v in first] == [[0], [1], [2], [3], [4], [5]]
    assert [list(v) for v in second] == [[0.0], [0.5], [1.0], [1.5], [2.0], [2.5]]
    assert sends == [["EventAddResponse", "EventAddResponse"]] * 5


def test_an_update_is_encoded_once_for_all_clients(monkeypatch):
    """Three clients monitoring, keeping up: one EventAddResponse is made per update and
    data type, not one per client; each client still gets its own subscription's
    updates, right, in the types it asked for (native and DBR_TIME), large ones too."""
    from caproto._circuit import ServerChannel
    group = _group("PATCH:ONCE:")
    names = ["PATCH:ONCE:FIRST", "PATCH:ONCE:BIG"]
    made: list[int] = []
    subscribe = ServerChannel.subscribe

    def counted(self, *args, **kwargs):
        made.append(1)
        return subscribe(self, *args, **kwargs)
    monkeypatch.setattr(ServerChannel, "subscribe", counted)
    big = "x" * 70_000                      # over 0xffff bytes: an extended header

    async def run() -> list:
        async with serving(group):
            clients = [await asyncio.to_thread(Monitors, names, data_type)
                       for data_type in ("native", "native", "time")]
            try:
                await _until(lambda: all(c.values(n) for c in clients for n in names),
                             "first updates")
                made.clear()
                await group.first.write(42)
                await _until(lambda: all(len(c.values(names[0])) == 2 for c in clients),
                             "the update")
                once = len(made)
                await group.big.write(big)
                await _until(lambda: all(len(c.values(names[1])) == 2 for c in clients),
                             "the big update")
                return [once, [c.updates[names[0]][-1] for c in clients],
                        [c.values(names[1])[-1] for c in clients]]
            finally:
                for client in clients:
                    client.close()

    once, last, texts = asyncio.run(asyncio.wait_for(run(), 30))
    assert once == 2                                  # native for two clients, time for one
    assert [int(r.data[0]) for r in last] == [42, 42, 42]
    assert last[2].metadata.stamp.secondsSinceEpoch > 0        # DBR_TIME carries its stamp
    for text in texts:
        assert bytes(np.asarray(text, dtype=np.uint8)).rstrip(b"\0").decode() == big


def test_a_set_event_is_waited_for_without_a_turn_of_the_loop():
    """caproto waits on a circuit's write_event before each read: when no put is under
    way the wait must cost nothing (no task, no timer)."""
    from caproto.asyncio.server import AsyncioEvent

    async def run():
        event = AsyncioEvent()
        event.set()
        waiting = event.wait(timeout=1.0)
        with pytest.raises(StopIteration) as done:
            waiting.send(None)               # completes without suspending
        cleared = AsyncioEvent()
        assert await cleared.wait(timeout=0.01) is False   # an unset event still times out
        return done.value.value

    assert asyncio.run(run()) is True


def test_a_conversion_is_made_once_per_update_for_every_queue():
    """ChannelData.publish converts a value once per data type and shares it with every
    subscriber queue (caproto stored the conversion where it never found it again)."""
    from caproto._data import ChannelDouble
    from caproto.server.common import SubscriptionSpec

    reads: Counter = Counter()

    class Counted(ChannelDouble):
        async def _read(self, data_type):
            reads[data_type] += 1
            return await super()._read(data_type)

    async def run() -> list:
        channel = Counted(value=1.0)
        queues = [asyncio.Queue(), asyncio.Queue(), asyncio.Queue()]
        for queue in queues:
            spec = SubscriptionSpec(db_entry=channel, data_type_name="TIME_DOUBLE", mask=1,
                                    channel_filter=caproto.ChannelFilter(ts=False, dbnd=None, arr=None,
                                                                        sync=None))
            await channel.subscribe(queue, spec, sub=None)
        reads.clear()
        await channel.write(2.5)
        return [[q.get_nowait() for _ in range(q.qsize())][-1] for q in queues]

    updates = asyncio.run(run())
    assert reads == {ChannelType.TIME_DOUBLE: 1}
    assert [list(u.values) for u in updates] == [[2.5]] * 3


def test_monitors_follow_every_value_of_a_fast_pv_in_order():
    """Many updates in a row: every monitoring client ends on the last value, in order,
    none of them duplicated (the new sender takes batches, never the same one twice)."""
    group = _group("PATCH:FAST:")
    name = "PATCH:FAST:FIRST"

    async def run() -> list[list]:
        async with serving(group):
            clients = [await asyncio.to_thread(Monitors, [name]) for _ in range(3)]
            try:
                await _until(lambda: all(c.values(name) for c in clients), "first updates")
                for i in range(1, 201):
                    await group.first.write(i)
                    if i % 50 == 0:
                        await asyncio.sleep(0)
                await _until(lambda: all(int(c.values(name)[-1][0]) == 200 for c in clients),
                             "the last value")
                return [[int(v[0]) for v in c.values(name)] for c in clients]
            finally:
                for client in clients:
                    client.close()

    for seen in asyncio.run(asyncio.wait_for(run(), 60)):
        assert seen == sorted(set(seen)) and seen[0] == 0 and seen[-1] == 200


def test_text_monitors_get_their_bytes():
    group = _group("PATCH:TEXT:")
    name = "PATCH:TEXT:TEXT"

    async def run() -> list:
        async with serving(group):
            monitors = await asyncio.to_thread(Monitors, [name])
            try:
                await _until(lambda: monitors.values(name), "the first update")
                await group.text.write("héllo, monitors")
                await _until(lambda: len(monitors.values(name)) == 2, "the text")
                return monitors.values(name)
            finally:
                monitors.close()

    values = asyncio.run(asyncio.wait_for(run(), 30))
    assert bytes(np.asarray(values[-1], dtype=np.uint8)).rstrip(b"\0").decode() == \
        "héllo, monitors"


def test_no_update_reaches_a_client_after_its_monitor_is_cancelled():
    """An update queued for a new monitor that is cancelled before it goes out is dropped
    (a client given an update for a subscription it ended breaks off the circuit)."""
    from caproto._data import SubscriptionUpdate
    group = _group("PATCH:GONE:")
    names = ["PATCH:GONE:FIRST", "PATCH:GONE:SECOND"]

    async def run() -> tuple[list, list, bool]:
        async with serving(group) as ctx:
            monitors = await asyncio.to_thread(Monitors, names)
            try:
                await _until(lambda: all(monitors.values(n) for n in names), "first updates")
                circuit, = ctx.circuits
                sub_spec, (sub,) = next((spec, subs) for spec, subs in circuit.subscriptions.items()
                                        if spec.db_entry is group.first)
                await asyncio.to_thread(monitors.keep[0][0].clear)       # the client cancels
                await _until(lambda: not ctx.subscriptions[sub_spec], "the cancel")
                metadata, values = await group.first._read(sub.data_type)
                await ctx.subscription_queue.put(
                    SubscriptionUpdate((sub_spec,), metadata, values, 0, sub))
                await group.second.write(7.0)
                await _until(lambda: len(monitors.values(names[1])) == 2, "the next update")
                return monitors.values(names[0]), monitors.values(names[1]), circuit.connected
            finally:
                monitors.close()

    first, second, connected = asyncio.run(asyncio.wait_for(run(), 30))
    assert [list(v) for v in first] == [[0]]
    assert [list(v) for v in second] == [[0.0], [7.0]]
    assert connected


def test_many_clients_of_a_real_ioc_follow_a_job_to_the_end(ioc):
    """The script server with the fixes: pyepics monitors (DBR_TIME and DBR_CTRL, as
    camonitor and display managers ask) and caproto monitors (native and DBR_TIME) of
    JOB:PROGRESS all follow a job to 100 %, in order, each on its own subscription."""
    import textwrap

    import epics

    from ca import put_checked
    from conftest import add, wait_for

    name = ioc.pv("JOB:PROGRESS")
    seen: dict[str, list] = {}
    pyepics = []
    for form in ("time", "ctrl", "time"):
        values = seen.setdefault(f"pyepics {form} {len(pyepics)}", [])
        pyepics.append(epics.PV(name, auto_monitor=True, form=form,
                                callback=lambda value=None, values=values, **_:
                                values.append(float(value))))
    caproto_clients = [Monitors([name]), Monitors([name], data_type="time")]
    try:
        wait_for(lambda: all(seen.values()) and all(c.values(name) for c in caproto_clients),
                 what="first updates")
        script = textwrap.dedent("""\
            import time
            from scriptserver.jobs.api import progress
            for i in range(1, 21):
                time.sleep(0.02)
                progress(i, 20)
            """)
        add(ioc, {"script": script})
        put_checked(ioc.pv("QUEUE:START"), 1)
        # the job's end resets JOB:PROGRESS to 0: wait for 100 to have been seen
        wait_for(lambda: all(100.0 in v for v in seen.values())
                 and all(100.0 in _numbers(c.values(name)) for c in caproto_clients),
                 timeout=20, what="every client at 100 %")
    finally:
        for pv in pyepics:
            pv.disconnect()
        for client in caproto_clients:
            client.close()
    for client, values in [*seen.items(),
                           *((f"caproto {k}", _numbers(c.values(name)))
                             for k, c in enumerate(caproto_clients))]:
        run = values[1:values.index(100.0) + 1]           # from the first update to 100
        assert run == sorted(run) and run[-1] == 100.0, f"{client}: {values}"


def _numbers(data: list) -> list[float]:
    return [float(np.asarray(d).ravel()[0]) for d in data]
