"""``python -m benchmarks [--quick] [--only NAME ...]``: run, print the table, write JSON."""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from . import MEASUREMENTS
from .report import INFO, MISS, PASS, Row, from_dict, machine, machine_line, table, to_dict

HERE = Path(__file__).resolve().parent
TIMEOUT = {False: 240.0, True: 120.0}       # s per measurement, full / quick


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure the script server against baselines taken in the same run.")
    parser.add_argument("--quick", action="store_true", help="smaller samples, about a minute")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"run only these measurements ({', '.join(MEASUREMENTS)}); "
                        "repeat or separate with commas")
    parser.add_argument("--json", type=Path, default=HERE / "results.json",
                        help="where to write the results (default: benchmarks/results.json)")
    args = parser.parse_args(argv)
    names = [n for item in args.only or [] for n in item.split(",") if n]
    unknown = [n for n in names if n not in MEASUREMENTS]
    if unknown:
        parser.error(f"unknown measurement(s) {', '.join(unknown)}; "
                     f"known: {', '.join(MEASUREMENTS)}")
    args.names = [n for n in MEASUREMENTS if n in names] if names else list(MEASUREMENTS)
    return args


def run_one(name: str, quick: bool, folder: Path) -> list[Row]:
    """Run one measurement in its own process; a failure becomes a row that says so."""
    out, log = folder / f"{name}.json", folder / f"{name}.log"
    argv = [sys.executable, "-m", "benchmarks.measure", name, "--out", str(out)]
    argv += ["--quick"] if quick else []
    with log.open("wb") as log_file:
        process = subprocess.Popen(argv, cwd=HERE.parent, stdout=log_file,
                                   stderr=subprocess.STDOUT)
        try:
            process.wait(TIMEOUT[quick])
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)       # it stops its IOCs on the way out
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            return [_failed(name, f"timed out after {TIMEOUT[quick]:.0f} s", log)]
        except BaseException:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
            raise
    if process.returncode != 0 or not out.exists():
        return [_failed(name, f"exited with status {process.returncode}", log)]
    rows = [from_dict(d) for d in json.loads(out.read_text())]
    return rows


def _failed(name: str, why: str, log: Path) -> Row:
    tail = log.read_text(errors="replace").strip().splitlines()[-15:]
    print(f"{name}: {why}\n" + "\n".join("    " + line for line in tail), file=sys.stderr)
    row = Row(f"{name}: did not complete", "", float("nan"), result="ERROR",
              measurement=name)
    return row.note(f"{name} {why}: {tail[-1] if tail else 'no output'}")


def cpu_ticks() -> tuple[int, int]:
    """(all, steal) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    print(machine_line(info))
    load0, ticks0 = os.getloadavg()[0], cpu_ticks()
    print(f"Load average (1 min) before the run: {load0:.2f}"
          + ("  -- other work on this machine makes the numbers noisier" if load0 > 0.5 else ""))
    print(f"Run: {'quick' if args.quick else 'full'}, measurements: {', '.join(args.names)}",
          flush=True)
    started = time.monotonic()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="scriptserver-bench-logs-") as folder:
        for name in args.names:
            t0 = time.monotonic()
            print(f"  {name} ...", end="", file=sys.stderr, flush=True)
            got = run_one(name, args.quick, Path(folder))
            print(f" {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
            rows += got
    ticks1 = cpu_ticks()
    steal = 100.0 * (ticks1[1] - ticks0[1]) / max(1, ticks1[0] - ticks0[0])
    info["load_before"], info["load_after"] = round(load0, 2), round(os.getloadavg()[0], 2)
    info["steal_percent"] = round(steal, 2)
    print(f"\nLoad average (1 min) after: {info['load_after']:.2f}; CPU steal (hypervisor) "
          f"during the run: {steal:.1f} %\n")
    print(table(rows))
    counts = {r: sum(row.result == r for row in rows) for r in (PASS, MISS, INFO, "ERROR")}
    elapsed = time.monotonic() - started
    print(f"\n{counts[PASS]} PASS, {counts[MISS]} MISS, {counts[INFO]} info"
          + (f", {counts['ERROR']} ERROR" if counts["ERROR"] else "")
          + f"; {elapsed:.0f} s")
    args.json.write_text(json.dumps({
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick, "seconds": round(elapsed, 1), "machine": info,
        "rows": [to_dict(r) for r in rows]}, indent=1) + "\n")
    print(f"JSON: {args.json}")
    return 1 if counts["ERROR"] else 0


if __name__ == "__main__":
    sys.exit(main())
