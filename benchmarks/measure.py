"""One measurement in its own process: ``python -m benchmarks.measure NAME --out FILE``.

Reserves loopback ports and sets the CA environment *before* any CA client is
imported, runs the measurement, writes its rows as JSON, and stops every
process it started, also when it is told to stop (SIGTERM) or fails.
"""
from __future__ import annotations

import argparse
import importlib
import json
import signal
import sys
from pathlib import Path

from . import MEASUREMENTS, harness
from .report import to_dict


def _terminate(signum, frame) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.measure")
    parser.add_argument("name", choices=list(MEASUREMENTS))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    harness.use_ports()
    module = importlib.import_module(f"benchmarks.{MEASUREMENTS[args.name]}")
    with harness.workdir() as root:
        try:
            rows = module.measure(Path(root), quick=args.quick)
        finally:
            harness.stop_all()            # before the folder with their state goes
    for row in rows:
        row.measurement = args.name
    args.out.write_text(json.dumps([to_dict(r) for r in rows], indent=1))


if __name__ == "__main__":
    sys.exit(main())
