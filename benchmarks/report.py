"""Table rows, their targets, the machine, and the printed table."""
from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

from .harness import p50, p99

PASS, MISS, INFO = "PASS", "MISS", "info"


@dataclass
class Row:
    """One measured quantity: its median and p99, its baseline, its target."""

    name: str
    unit: str
    median: float
    p99: float | None = None
    n: int = 1
    baseline: float | None = None          # the baseline's median, same unit
    baseline_p99: float | None = None
    ratio: float | None = None             # median / baseline median
    ratio_p99: float | None = None
    target: str = ""
    result: str = INFO
    notes: list[str] = field(default_factory=list)
    measurement: str = ""

    # -- targets: each sets the target text and PASS/MISS --------------------------------

    def under(self, limit: float, stat: str = "median", label: str = "") -> "Row":
        value = self.median if stat == "median" else self.p99
        which = f"{_stat(stat)} " if self.p99 is not None else ""
        return self._judge(value is not None and value < limit,
                           f"{which}< {label or _num(limit)} {self.unit}")

    def at_least(self, limit: float) -> "Row":
        which = "p50 " if self.p99 is not None else ""
        return self._judge(self.median >= limit, f"{which}≥ {_num(limit)} {self.unit}")

    def ratio_within(self, median: float, p99: float | None = None) -> "Row":
        ok = self.ratio is not None and self.ratio <= median
        target = f"ratio p50 ≤ {_num(median)}"
        if p99 is not None:
            ok = ok and self.ratio_p99 is not None and self.ratio_p99 <= p99
            target += f", p99 ≤ {_num(p99)}"
        return self._judge(ok, target)

    def _judge(self, ok: bool, target: str) -> "Row":
        self.target, self.result = target, PASS if ok else MISS
        return self

    def note(self, text: str) -> "Row":
        self.notes.append(text)
        return self


def samples(name: str, values: list[float], unit: str = "ms", scale: float = 1e3,
            baseline: list[float] | None = None) -> Row:
    """A row from raw samples (seconds by default, shown in ms)."""
    row = Row(name, unit, p50(values) * scale, p99(values) * scale, n=len(values))
    if baseline:
        row.baseline, row.baseline_p99 = p50(baseline) * scale, p99(baseline) * scale
        row.ratio = row.median / row.baseline if row.baseline else None
        row.ratio_p99 = row.p99 / row.baseline_p99 if row.baseline_p99 else None
    return row


def single(name: str, value: float, unit: str, baseline: float | None = None,
           n: int = 1) -> Row:
    """A row with one value (a rate, a percentage, a size): no p99."""
    row = Row(name, unit, value, n=n, baseline=baseline)
    if baseline:
        row.ratio = value / baseline
    return row


def _stat(stat: str) -> str:
    return {"median": "p50", "p99": "p99"}[stat]


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


# -- the machine --------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), "")
    except OSError:
        pass
    versions = {}
    for package in ("caproto", "pyepics", "epicscorelibs", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {"cpu": model or platform.processor(), "cores": os.cpu_count(),
            "python": platform.python_version(), "implementation": platform.python_implementation(),
            "kernel": platform.release(), "packages": versions}


def machine_line(info: dict[str, Any]) -> str:
    packages = ", ".join(f"{k} {v}" for k, v in info["packages"].items())
    return (f"Machine: {info['cpu']}, {info['cores']} cores, {info['implementation']} "
            f"{info['python']}, Linux {info['kernel']}\nPackages: {packages}")


# -- the table ------------------------------------------------------------------------------

COLUMNS = ("measurement", "p50", "p99", "n", "baseline p50/p99", "ratio p50/p99", "target",
           "result")


def _pair(a: float | None, b: float | None, suffix: str = "") -> str:
    if a is None:
        return ""
    return f"{_num(a)}{suffix}" + (f" / {_num(b)}{suffix}" if b is not None else "")


def table(rows: list[Row]) -> str:
    cells = []
    notes: list[str] = []
    for row in rows:
        marks = ""
        for text in row.notes:
            notes.append(text)
            marks += f"[{len(notes)}]"
        cells.append((f"{row.name} {marks}".rstrip(), f"{_num(row.median)} {row.unit}",
                      f"{_num(row.p99)} {row.unit}" if row.p99 is not None else "",
                      str(row.n), _pair(row.baseline, row.baseline_p99),
                      _pair(row.ratio, row.ratio_p99, "x"), row.target, row.result))
    widths = [max(len(c[i]) for c in cells + [COLUMNS]) for i in range(len(COLUMNS))]
    right = {1, 2, 3, 4, 5}

    def line(values) -> str:
        return "  ".join(v.rjust(w) if i in right else v.ljust(w)
                         for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    out = [line(COLUMNS), line(["-" * w for w in widths])]
    group = None
    for row, values in zip(rows, cells):
        if group is not None and row.measurement != group:
            out.append("")
        group = row.measurement
        out.append(line(values))
    if notes:
        out.append("")
        out += [f"[{i}] {text}" for i, text in enumerate(notes, 1)]
    return "\n".join(out)


def to_dict(row: Row) -> dict[str, Any]:
    return asdict(row)


def from_dict(data: dict[str, Any]) -> Row:
    return Row(**data)
