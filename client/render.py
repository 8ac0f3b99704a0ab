"""How the client shows the server's answers: rich tables for people, JSON for programs."""
from __future__ import annotations

import json
import math
import time
from typing import Any, Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console()
errors = Console(stderr=True)


def emit_json(value: Any) -> None:
    """Clean JSON on stdout, one document (no colours, no wrapping)."""
    print(json.dumps(value, indent=None, default=str), flush=True)


def seconds(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    value = float(value)
    if value < 60:
        return f"{value:.1f} s"
    minutes, secs = divmod(round(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def clock(stamp: float | None) -> str:
    return "" if not stamp else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def table(title: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> Table:
    shown = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        shown.add_column(column, overflow="fold")
    for row in rows:
        shown.add_row(*(cell if isinstance(cell, Text) else Text(str(cell)) for cell in row))
    return shown


STATUS_STYLES = {"finished": "green", "failed": "red", "aborted": "yellow",
                 "interrupted": "yellow", "skipped": "dim"}


def queue_table(queue: list[dict[str, Any]], current: dict[str, Any] | None) -> Table:
    rows = []
    if current:
        rows.append((Text(str(current["id"]), "bold"), Text("running", "bold"), current["name"],
                     current["kind"], seconds(current.get("estimate"))))
    rows += [(job["id"], i, job["name"], job["kind"], seconds(job.get("estimate")))
             for i, job in enumerate(queue)]
    return table(f"queue: {len(queue)} job(s)", ("id", "pos", "name", "kind", "estimate"), rows)


def history_table(runs: list[dict[str, Any]]) -> Table:
    rows = []
    for run in runs:
        status = Text(run["status"], STATUS_STYLES.get(run["status"], ""))
        rows.append((run["id"], run["name"], status, clock(run.get("end")),
                     seconds(run.get("duration")), run.get("error", "")))
    return table(f"history: {len(runs)} run(s), newest first",
                 ("id", "name", "status", "end", "duration", "error"), rows)


def record_table(record: dict[str, Any]) -> Table:
    shown = Table(show_header=False, title=f"job {record.get('id')}", title_justify="left")
    shown.add_column(style="bold")
    shown.add_column(overflow="fold")
    for key, value in record.items():
        if key == "runs":
            continue
        shown.add_row(key, Text(value if isinstance(value, str) else json.dumps(value)))
    for run in record.get("runs", []):
        shown.add_row(f"run {run.get('run', '')}",
                      Text(f"{run.get('status')} {clock(run.get('start'))} "
                           f"({seconds(run.get('duration'))}) {run.get('error', '')}"))
    return shown
