"""Working out jobs' estimates: from history at once, from command functions later.

The rules are the pure functions in ``scriptserver.jobs.estimates``; this
module fetches what they need (past durations from the store, the commands'
estimate functions run in a subprocess by the command library). Estimates
worked out after queueing go to the manager as requests, which drops those
made stale by an edit meanwhile.
"""
from __future__ import annotations

import dataclasses
import logging

from scriptserver.commands.library import CommandLibrary
from scriptserver.db.store import Store
from scriptserver.jobs import estimates
from scriptserver.jobs.manager import Estimate, NewJob
from scriptserver.jobs.queue import Job

log = logging.getLogger(__name__)
IDENTITY = ("command", "script_file", "script")        # what makes two jobs "the same job"


class Estimator:
    def __init__(self, store: Store, commands: CommandLibrary):
        self.store = store
        self.commands = commands

    def from_history(self, jobs: list[NewJob]) -> list[NewJob]:
        """Median of earlier runs of the same job, else unknown (fast: runs in the put)."""
        past: dict[tuple, list] = {}
        out = []
        for job in jobs:
            body = job.spec.body
            key = tuple((k, body[k]) for k in IDENTITY if k in body)
            if key not in past:
                past[key] = self.store.durations(body)
            seconds = estimates.from_history(body, past[key])
            out.append(dataclasses.replace(job, estimate=seconds, estimate_source=(
                "history" if seconds is not None else "unknown")))
        return out

    async def from_commands(self, jobs: list[Job]) -> list[Estimate]:
        """The commands' own estimate functions, which win over history."""
        commands = [j for j in jobs if j.kind == "command"]
        if not commands:
            return []
        calls = [(j.spec.body["command"], j.spec.body.get("args", {})) for j in commands]
        results = await self.commands.estimate(calls)
        return [Estimate(job.id, job.revision, seconds, "command")
                for job, seconds in zip(commands, results) if seconds is not None]
