"""Many Channel Access monitoring clients in one process, each with its own TCP circuit.

    python -m benchmarks.fanout_client --server HOST:PORT --clients 10 --ready FILE
                                       --out FILE PV [PV ...]

Each client is one TCP circuit to the IOC, driven by caproto's sans-I/O protocol
objects (``caproto.VirtualCircuit``, ``ClientChannel``) over a plain socket, with
a monitor on every PV given. One thread serves every socket of the process: when
the sockets are readable it first reads all of them, noting the arrival time of
each (time.monotonic()), and only then decodes. An arrival time is therefore the
moment the update is in this process's hands, not the moment a client library
got round to it: with caproto's threading client, ten contexts in a process were
ten reader threads queueing for the GIL, and that queue was timed as the IOC's.

Every update of the first PV is kept as (client, arrival time, value). When every
client has its first update of every PV, the READY file is written; the process
records until its stdin closes (or ``--timeout``), then writes the records as JSON
to OUT and closes its sockets.
"""
from __future__ import annotations

import argparse
import getpass
import json
import selectors
import socket
import sys
import time
from pathlib import Path

import caproto as ca


class Circuit:
    """One client: a socket, caproto's protocol state, a monitor per PV."""

    def __init__(self, number: int, address: tuple[str, int], names: list[str]):
        self.number = number
        self.state = ca.VirtualCircuit(our_role=ca.CLIENT, address=address, priority=0)
        self.socket = socket.create_connection(address, timeout=10)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.channels = [ca.ClientChannel(name, self.state) for name in names]
        self.which: dict[int, int] = {}                    # subscription id -> PV index
        self.send(ca.VersionRequest(priority=0, version=13),
                  ca.HostNameRequest(socket.gethostname()),
                  ca.ClientNameRequest(getpass.getuser()),
                  *(channel.create() for channel in self.channels))

    def send(self, *commands) -> None:
        self.socket.sendall(b"".join(self.state.send(*commands)))

    def decode(self, data: bytes) -> list:
        commands, _ = self.state.recv(data)
        out = []
        for command in commands:
            self.state.process_command(command)
            if isinstance(command, ca.CreateChanResponse):
                channel = next(c for c in self.channels if c.cid == command.cid)
                request = channel.subscribe(data_type=channel.native_data_type)
                self.which[request.subscriptionid] = self.channels.index(channel)
                self.send(request)
            elif isinstance(command, ca.EventAddResponse) and command.data_count:
                out.append((self.which[command.subscriptionid], command))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fanout_client")
    parser.add_argument("pvs", nargs="+")
    parser.add_argument("--server", required=True, help="HOST:PORT of the IOC")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--ready", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    host, port = args.server.rsplit(":", 1)

    circuits = [Circuit(k, (host, int(port)), args.pvs) for k in range(args.clients)]
    selector = selectors.DefaultSelector()
    for circuit in circuits:
        circuit.socket.setblocking(False)
        selector.register(circuit.socket, selectors.EVENT_READ, circuit)
    selector.register(sys.stdin, selectors.EVENT_READ, None)
    records: list[tuple[int, float, float]] = []
    first: set[tuple[int, int]] = set()
    wanted = len(circuits) * len(args.pvs)
    ready_written = False
    deadline = time.monotonic() + args.timeout
    try:
        while time.monotonic() < deadline:
            events = selector.select(timeout=1.0)
            arrived = []
            for key, _ in events:                   # read everything first, timing each
                if key.data is None:
                    if not sys.stdin.read(4096):    # stdin closed: stop
                        deadline = 0.0
                    continue
                data = key.fileobj.recv(1 << 20)
                arrived.append((time.monotonic(), key.data, data))
            for when, circuit, data in arrived:
                if not data:
                    raise ConnectionError(f"the IOC closed client {circuit.number}'s circuit")
                for which, update in circuit.decode(data):
                    if which == 0:
                        records.append((circuit.number, when, float(update.data[0])))
                    first.add((circuit.number, which))
            if not ready_written and len(first) == wanted:
                args.ready.write_text("ready\n")
                ready_written = True
        if not ready_written:
            raise TimeoutError(f"only {len(first)} of {wanted} first updates arrived")
        args.out.write_text(json.dumps(records))
    finally:
        for circuit in circuits:
            circuit.socket.close()


if __name__ == "__main__":
    main()
