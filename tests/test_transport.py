"""The caproto patch in ioc/transport.py still applies to the pinned caproto.

caproto's asyncio server is run in this process with the patch, a client
connects, and the accepted connection must have Nagle's algorithm off
(TCP_NODELAY), as the C IOC's connections do.
"""
from __future__ import annotations

import asyncio
import socket

from scriptserver.ioc import transport


def test_accepted_connections_have_nodelay():
    transport.tune_before_import()
    transport.no_delay_on_connections()
    from caproto.asyncio.server import Context
    from caproto.server import PVGroup, pvproperty

    class Tiny(PVGroup):
        value = pvproperty(value=1, name="VALUE")

    async def check() -> int:
        ctx = Context(Tiny(prefix="TRANSPORT:").pvdb, interfaces=["127.0.0.1"])
        server = asyncio.ensure_future(ctx.run())
        try:
            for _ in range(500):
                if ctx.port:
                    break
                await asyncio.sleep(0.01)
            reader, writer = await asyncio.open_connection("127.0.0.1", ctx.port)
            for _ in range(500):
                if ctx.circuits:
                    break
                await asyncio.sleep(0.01)
            accepted = next(iter(ctx.circuits)).client.writer.get_extra_info("socket")
            flag = accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            writer.close()
            return flag
        finally:
            server.cancel()
            await asyncio.gather(server, return_exceptions=True)

    assert asyncio.run(asyncio.wait_for(check(), 20)) != 0
