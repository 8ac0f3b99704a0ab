"""Several Channel Access clients in one process, each with its own TCP circuit.

    python -m benchmarks.fanout_client --clients 10 --ready FILE --out FILE PV [PV ...]

Each client is a caproto threading ``Context`` (its own circuit to the IOC; they share
one UDP search socket) monitoring every PV given. Every update of the first PV is
kept as (client, arrival time.monotonic(), value). When every client has its first
update of every PV, the READY file is written; the process records until its stdin
closes (or ``--timeout``), then writes the records as JSON to OUT and disconnects.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fanout_client")
    parser.add_argument("pvs", nargs="+")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--ready", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    from caproto.threading.client import Context, SharedBroadcaster

    lock = threading.Lock()
    records: list[tuple[int, float, float]] = []
    first: set[tuple[int, int]] = set()
    everyone = threading.Event()
    wanted = args.clients * len(args.pvs)

    def callback(client: int, which: int):
        def on_update(sub, response) -> None:
            arrived = time.monotonic()
            with lock:
                if which == 0:
                    records.append((client, arrived, float(response.data[0])))
                first.add((client, which))
                if len(first) == wanted:
                    everyone.set()
        return on_update

    broadcaster = SharedBroadcaster()
    contexts = [Context(broadcaster) for _ in range(args.clients)]
    subscriptions = []                      # keep them alive: callbacks are weakly held
    try:
        for client, context in enumerate(contexts):
            pvs = context.get_pvs(*args.pvs, timeout=10)
            for which, pv in enumerate(pvs):
                pv.wait_for_connection(timeout=30)
                sub = pv.subscribe()
                handler = callback(client, which)
                sub.add_callback(handler)
                subscriptions.append((sub, handler))
        if not everyone.wait(60):
            raise TimeoutError(f"only {len(first)} of {wanted} first updates arrived")
        args.ready.write_text("ready\n")
        stop = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        stop.wait(args.timeout)
        with lock:
            args.out.write_text(json.dumps(records))
    finally:
        for context in contexts:
            context.disconnect()
        broadcaster.disconnect()


if __name__ == "__main__":
    main()
