"""Several Channel Access clients in one process, each with its own TCP circuit.

    python -m benchmarks.fanout_client --clients 10 --ready FILE --out FILE PV [PV ...]

Each client is a caproto asyncio ``Context`` (its own circuit to the IOC, its own UDP
search socket), all in one event loop: one thread, so the clients of a
process do not queue for the GIL behind each other (with caproto's threading client,
ten contexts in a process are ten reader threads, and an update's arrival time
measured the wait for the interpreter as much as the IOC). Every update of the
first PV is kept as (client, arrival time.monotonic(), value), taken as the update
is handed over. When every client has its first update of every PV, the READY file
is written; the process records until its stdin closes (or ``--timeout``), then
writes the records as JSON to OUT and disconnects.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path


async def record(args: argparse.Namespace) -> list[tuple[int, float, float]]:
    from caproto.asyncio.client import Context, SharedBroadcaster

    records: list[tuple[int, float, float]] = []
    first: set[tuple[int, int]] = set()
    everyone = asyncio.Event()
    wanted = args.clients * len(args.pvs)

    def callback(client: int, which: int):
        async def on_update(sub, response) -> None:
            arrived = time.monotonic()
            if which == 0:
                records.append((client, arrived, float(response.data[0])))
            first.add((client, which))
            if len(first) == wanted:
                everyone.set()
        return on_update

    # a search socket each: with a shared one, caproto 1.3.0's asyncio client fails on
    # a cached search result (TypeError: float - Sentinel)
    broadcasters = [SharedBroadcaster() for _ in range(args.clients)]
    contexts = [Context(broadcaster) for broadcaster in broadcasters]
    subscriptions = []                      # keep them alive: callbacks are weakly held
    try:
        for client, context in enumerate(contexts):
            pvs = await context.get_pvs(*args.pvs, timeout=10)
            for which, pv in enumerate(pvs):
                await pv.wait_for_connection(timeout=30)
                sub = pv.subscribe()
                handler = callback(client, which)
                sub.add_callback(handler)
                subscriptions.append((sub, handler))
        try:
            await asyncio.wait_for(everyone.wait(), 60)
        except asyncio.TimeoutError:
            raise TimeoutError(f"only {len(first)} of {wanted} first updates arrived") from None
        args.ready.write_text("ready\n")
        loop = asyncio.get_running_loop()
        stdin_closed = loop.run_in_executor(None, sys.stdin.read)
        try:
            await asyncio.wait_for(stdin_closed, args.timeout)
        except asyncio.TimeoutError:
            pass
        return list(records)
    finally:
        for context in contexts:
            await context.disconnect()
        for broadcaster in broadcasters:
            await broadcaster.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fanout_client")
    parser.add_argument("pvs", nargs="+")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--ready", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    records = asyncio.run(record(args))
    args.out.write_text(json.dumps(records))
    sys.stdout.flush()
    import os
    os._exit(0)        # the stdin reader thread may still block; nothing left to do


if __name__ == "__main__":
    main()
