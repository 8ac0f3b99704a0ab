"""The caproto hooks in ioc/ca_access.py still work on the pinned caproto.

A caproto server runs in this process with the patched circuit class; a real
caproto client connects claiming another host and user name. The access hook
must be given the connection's real address, the client must see the rights
the hook gave, a monitor on a channel it may not read must be refused, and a
put's action must know who sent it.
"""
from __future__ import annotations

import asyncio
import threading

import pytest

from scriptserver.ioc import ca_access
from scriptserver.ioc.access import Need, Rights, Who
from scriptserver.ioc.gate import ACTING

from conftest import wait_for


@pytest.fixture(scope="module")
def server():
    ca_access.use_peer_addresses()
    from caproto.asyncio.server import Context
    from caproto.server import PVGroup, pvproperty

    asked: list[Who] = []
    writers: list[Who | None] = []

    class Tiny(PVGroup):
        open = pvproperty(value=1, name="OPEN")
        secret = pvproperty(value=2, name="SECRET")
        control = pvproperty(value=3, name="CONTROL")

        @control.putter
        async def control(self, instance, value):
            writers.append(ACTING.get())
            return value

    table = {"OPEN": Rights(read=True), "SECRET": Rights(read=False),
             "CONTROL": Rights(read=True, write=True)}
    group = Tiny(prefix="ACCESSPIN:")
    for name in table:
        def decide(who: Who, need: Need, name=name) -> Rights:
            asked.append(who)
            return table[name]
        ca_access.guard(group.pvdb["ACCESSPIN:" + name], Need.STATUS, decide)

    running: dict = {}

    async def serve():
        running["loop"] = asyncio.get_running_loop()
        running["task"] = asyncio.current_task()
        running["ctx"] = ctx = Context(group.pvdb, interfaces=["127.0.0.1"])
        await ctx.run()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    wait_for(lambda: running.get("ctx") and running["ctx"].port, what="the pin server to listen")
    yield running["ctx"], group, asked, writers
    running["loop"].call_soon_threadsafe(running["task"].cancel)
    thread.join(5)


def test_rights_come_from_the_real_address_not_the_claimed_host(server, monkeypatch):
    from caproto import AccessRights, ErrorResponseReceived
    from caproto.sync import client as sync_client
    from caproto.threading.client import Context, SharedBroadcaster
    ctx, group, asked, writers = server
    monkeypatch.setenv("EPICS_CA_ADDR_LIST", f"127.0.0.1:{ctx.port}")
    client = Context(SharedBroadcaster(), host_name="trusted.example.org", client_name="root")
    try:
        opened, secret, control = client.get_pvs("ACCESSPIN:OPEN", "ACCESSPIN:SECRET",
                                                 "ACCESSPIN:CONTROL")
        for pv in (opened, secret, control):
            pv.wait_for_connection(timeout=10)
        assert asked and all(who.host == "127.0.0.1" for who in asked)
        assert {who.user for who in asked} == {"root"}    # the CA user name is what CA has
        assert opened.access_rights == AccessRights.READ
        assert secret.access_rights == AccessRights.NO_ACCESS
        assert control.access_rights == AccessRights.READ | AccessRights.WRITE
        control.write([5], wait=True, timeout=10)
        assert writers == [Who("root", "127.0.0.1")]
        with pytest.raises(ErrorResponseReceived, match="no read access"):
            sync_client.read("ACCESSPIN:SECRET", timeout=10, repeater=False)
        with pytest.raises(ErrorResponseReceived, match="no write access"):
            sync_client.write("ACCESSPIN:OPEN", [7], notify=True, timeout=10, repeater=False)
        assert opened.read(timeout=5).data[0] == 1
        seen = []
        callbacks = {name: (lambda sub, response, name=name: seen.append((name, response)))
                     for name in ("open", "secret", "control")}     # caproto keeps weak refs
        opened.subscribe().add_callback(callbacks["open"])
        wait_for(lambda: seen, what="the readable channel's first update")
        secret.subscribe().add_callback(callbacks["secret"])
        control.subscribe().add_callback(callbacks["control"])
        wait_for(lambda: "control" in dict(seen), what="the control channel's first update")
        assert "secret" not in dict(seen)     # asked before control's, on the same circuit
        monitored = {spec.db_entry for spec in ctx.subscriptions if ctx.subscriptions[spec]}
        assert group.pvdb["ACCESSPIN:SECRET"] not in monitored
    finally:
        client.disconnect()
