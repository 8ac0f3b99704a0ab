"""``scriptserver watch``: follow the running job until it ends.

Shows a live progress bar with the remaining time, the current line and
message, and the job's last output lines; with ``--json``, one JSON object per
change and a last one with how the job ended. The exit status is 0 when the
job finished, 1 when it failed, was aborted or was skipped.
"""
from __future__ import annotations

import math
import time
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.text import Text

from . import render
from .channels import Server

POLL = 0.2            # s between looks at the job: live enough for a person, light for the IOC
OUTPUT_LINES = 8
LIVE_PVS = ("JOB:ID", "JOB:NAME", "STATE", "JOB:PROGRESS", "JOB:LINE", "JOB:ELAPSED",
            "JOB:REMAINING", "JOB:MESSAGE", "JOB:OUTPUT", "HISTORY:ROW:0:ID")


def snapshot(server: Server) -> dict[str, Any]:
    values = {
        "id": server.get("JOB:ID"), "name": server.get("JOB:NAME"),
        "state": server.get("STATE"), "progress": server.get("JOB:PROGRESS"),
        "line": server.get("JOB:LINE"), "elapsed": server.get("JOB:ELAPSED"),
        "remaining": server.get("JOB:REMAINING"), "message": server.get("JOB:MESSAGE"),
        "output": server.get("JOB:OUTPUT"),
    }
    if isinstance(values["remaining"], float) and math.isnan(values["remaining"]):
        values["remaining"] = None
    return values


def ending(server: Server, job_id: int, timeout: float = 10.0) -> dict[str, Any]:
    """The history record of the run that just ended (it may land a moment after)."""
    deadline = time.monotonic() + timeout
    while True:
        runs = server.get_json("HISTORY") or []
        run = next((r for r in runs if r["id"] == job_id), None)
        if run is not None or time.monotonic() > deadline:
            return run or {"id": job_id, "status": "unknown"}
        time.sleep(POLL)


def follow(server: Server, as_json: bool) -> int:
    server.connect(*LIVE_PVS)
    now = snapshot(server)
    job_id = now["id"]
    if not job_id:
        if as_json:
            render.emit_json({"id": 0, "state": now["state"], "running": False})
        else:
            render.console.print(f"no job is running (state {now['state']})")
        return 0
    if as_json:
        run = _follow_as_json(server, now)
    else:
        run = _follow_live(server, now)
    if as_json:
        render.emit_json({"ended": run})
    else:
        render.console.print(Text.assemble(
            f"job {job_id} ({run.get('name', now['name'])}) ",
            (run["status"], render.STATUS_STYLES.get(run["status"], "")),
            f" after {render.seconds(run.get('duration'))}",
            f": {run['error']}" if run.get("error") else ""))
    return 0 if run["status"] == "finished" else 1


def _follow_as_json(server: Server, now: dict[str, Any]) -> dict[str, Any]:
    job_id, last = now["id"], None
    while now["id"] == job_id:
        shown = {k: v for k, v in now.items() if k != "output"}
        if shown != last:
            render.emit_json(shown)
            last = shown
        time.sleep(POLL)
        now = snapshot(server)
    return ending(server, job_id)


def _view(progress: Progress, now: dict[str, Any]) -> Group:
    tail = "\n".join(now["output"].splitlines()[-OUTPUT_LINES:])
    details = Text(f"state {now['state']}   line {now['line']}   elapsed "
                   f"{render.seconds(now['elapsed'])}   remaining "
                   f"{render.seconds(now['remaining'])}")
    if now["message"]:
        details.append(f"\n{now['message']}", style="italic")
    return Group(progress, details, Panel(Text(tail or "(no output yet)"), title="output",
                                          title_align="left"))


def _follow_live(server: Server, now: dict[str, Any]) -> dict[str, Any]:
    job_id = now["id"]
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        TaskProgressColumn(), TextColumn("{task.fields[left]}"))
    task = progress.add_task(escape(f"job {job_id} {now['name']}"), total=100.0, left="")
    with Live(_view(progress, now), console=render.console, refresh_per_second=8) as live:
        while now["id"] == job_id:
            progress.update(task, completed=now["progress"],
                            left=f"{render.seconds(now['remaining'])} left")
            live.update(_view(progress, now))
            time.sleep(POLL)
            now = snapshot(server)
    return ending(server, job_id)
