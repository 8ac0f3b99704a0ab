"""Filling in jobs' estimates: from history at once, from command functions later.

The rules are the pure functions in ``scriptserver.jobs.estimates``; this
module fetches what they need (past durations from the store, the commands'
estimate functions run in a subprocess by the command library).
"""
from __future__ import annotations

import logging

from scriptserver.commands.library import CommandLibrary
from scriptserver.db.store import Store
from scriptserver.jobs import estimates
from scriptserver.jobs.queue import Job

log = logging.getLogger(__name__)
IDENTITY = ("command", "script_file", "script")        # what makes two jobs "the same job"


class Estimator:
    def __init__(self, store: Store, commands: CommandLibrary):
        self.store = store
        self.commands = commands

    def from_history(self, jobs: list[Job]) -> None:
        """Median of earlier runs of the same job, else unknown (fast: runs in the put)."""
        past: dict[tuple, list] = {}
        for job in jobs:
            body = job.spec.body
            key = tuple((k, body[k]) for k in IDENTITY if k in body)
            if key not in past:
                past[key] = self.store.durations(body)
            job.estimate = estimates.from_history(body, past[key])
            job.estimate_source = "history" if job.estimate is not None else "unknown"

    async def from_commands(self, jobs: list[Job]) -> list[Job]:
        """The commands' own estimate functions, which win over history; the jobs changed."""
        commands = [j for j in jobs if j.kind == "command"]
        if not commands:
            return []
        calls = [(j.spec.body["command"], j.spec.body.get("args", {})) for j in commands]
        try:
            results = await self.commands.estimate(calls)
        except Exception:  # noqa: BLE001 - no estimate is better than a stopped IOC
            log.exception("estimating %d job(s) failed", len(calls))
            return []
        changed = []
        for job, seconds in zip(commands, results):
            if seconds is not None:
                job.estimate, job.estimate_source = round(seconds, 3), "command"
                changed.append(job)
        return changed
