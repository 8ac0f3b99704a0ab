"""Channel Access transport settings caproto does not make itself.

caproto creates its listening TCP socket with protocol number 0, and asyncio
only switches Nagle's algorithm off (TCP_NODELAY) on accepted sockets whose
protocol is IPPROTO_TCP. With Nagle on, a put reply or monitor update sent
right after another small packet waits for the client's delayed ACK: about
40 ms on Linux, measured on pause-now and on puts to monitored PVs. The C
IOC (rsrv) sets TCP_NODELAY; this does the same by creating the listening
socket with IPPROTO_TCP.

caproto also holds a monitor update up to 10 ms to batch it with the next one
under load; 1 ms keeps the batching and most of the latency. (ioc/ca_patch.py
replaces that sender with one that never waits on a timer; the setting matters
only where those fixes are not applied, on a caproto other than the pinned one.)
"""
from __future__ import annotations

import os
import socket

HIGH_LOAD_BATCH_SECONDS = "0.001"


def free_ports(count: int, start: int = 20000) -> list[int]:
    """Ports free for both UDP and TCP on loopback, from a place that depends on our pid
    (so processes started at once do not all try the same ones). For tests and benchmarks."""
    ports: list[int] = []
    candidate = start + (os.getpid() * 7) % 30000
    while len(ports) < count:
        candidate += 1
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                udp.bind(("127.0.0.1", candidate))
                tcp.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        ports.append(candidate)
    return ports


def tune_before_import() -> None:
    """Call before caproto.server is imported (it reads this setting at import)."""
    os.environ.setdefault("CAPROTO_SERVER_HIGH_LOAD_TIMEOUT_SEC", HIGH_LOAD_BATCH_SECONDS)


async def _bound_tcp_socket(addr: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setblocking(False)
    sock.bind((addr, port))
    return sock


def no_delay_on_connections() -> None:
    """Make caproto's asyncio server create its listening sockets as IPPROTO_TCP."""
    import caproto.asyncio.server as server
    server._create_bound_tcp_socket = _bound_tcp_socket
