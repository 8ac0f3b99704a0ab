"""VALIDATE: every static problem of a job, a list, a queued job or the whole queue, its
estimate, and a dry run of it.

The put completes once the static checks are done (the same review as queueing:
``Admission.review``, plus IBEX ``parameters_valid``); ``VALIDATE:RESULT`` shows them at
once with ``"finished": false``, then the dry run goes on in the background, job by job,
through the job runner (``JobRunner.dry_run``: the same fork server and worker, with
``is_dry_run()`` True and a simulated clock), never as the running job and never touching
the queue. A later VALIDATE cancels a dry run still going.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from scriptserver.commands.checks import Problem
from scriptserver.commands.review import Review
from scriptserver.jobs.errors import RequestRefused
from scriptserver.jobs.manager import NewJob
from scriptserver.jobs.queue import Job, JobQueue
from scriptserver.jobs.spec import parse_json
from scriptserver.runner.runner import JobRunner

from .admission import Admission, off_the_loop
from .estimating import Estimator

log = logging.getLogger(__name__)

OUTPUT_KEPT = 4000          # characters of each job's dry-run output shown in the result
WHOLE_QUEUE = ("queue", '"queue"')
SHOW_EVERY = 1.0            # s between updates of VALIDATE:RESULT while a dry run goes on

Show = Callable[[dict[str, Any]], Awaitable[None]]
Payload = Callable[[Job], dict[str, Any]]


class Validator:
    def __init__(self, admission: Admission, estimator: Estimator, runner: JobRunner,
                 payload: Payload, show: Show):
        self.admission, self.estimator, self.runner = admission, estimator, runner
        self.payload, self.show = payload, show
        self._dry_run: asyncio.Task | None = None

    async def validate(self, value: str, queue: JobQueue) -> None:
        """Check now, show the verdict, then dry-run the valid jobs in the background."""
        if self._dry_run is not None:
            self._dry_run.cancel()
        try:
            jobs = self._jobs(value, queue)
        except RequestRefused as err:
            await self.show({"valid": False, "finished": True, "error": str(err),
                             "problems": [{"job": None, "line": None, "text": str(err)}],
                             "jobs": []})
            return
        reviews = await off_the_loop([j.spec for j in jobs], lambda: [self._review(j)
                                                                      for j in jobs])
        for found, problems in zip(reviews, await self.admission.definition_problems(reviews)):
            found.problems += [Problem(text) for text in problems]
        fresh = {job.id: job for job in jobs if job.id < 0}
        for found in await self.estimator.from_commands(list(fresh.values())):
            job = fresh[found.job_id]
            job.estimate, job.estimate_source = round(found.seconds, 3), found.source
        result = verdict(jobs, reviews)
        await self.show(result)
        self._dry_run = asyncio.create_task(self._run_dry(jobs, reviews, result))

    def _jobs(self, value: str, queue: JobQueue) -> list[Job]:
        """A queued job id, "queue", or jobs as QUEUE:ADD takes them (shape checked)."""
        text = value.strip()
        if text in WHOLE_QUEUE:
            if not len(queue):
                raise RequestRefused("the queue is empty: nothing to validate")
            return list(queue)
        if text.lstrip("-").isdigit():
            return [queue.get(int(parse_json(text, "the job id")))]
        specs, _, _ = self.admission.parse(value)
        # not queued: negative ids, never a queued job's
        news = self.estimator.from_history([NewJob(spec) for spec in specs])
        return [Job(-i, new.spec, new.estimate, new.estimate_source)
                for i, new in enumerate(news, 1)]

    def _review(self, job: Job) -> Review:
        try:
            found = self.admission.review(job.spec)
        except RequestRefused as err:          # e.g. a script file that is not there
            return Review(job.name, [Problem(str(err))])
        if job.id < 0:                         # a queued job is shown as it is, never changed
            job.pausable = bool(found.details.get("pausable"))
        return found

    async def _run_dry(self, jobs: list[Job], reviews: list[Review],
                       result: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        shown_at = loop.time()
        try:
            for job, found, shown in zip(jobs, reviews, result["jobs"]):
                shown["dry_run"] = await self._dry_run_one(job, found)
                if loop.time() - shown_at > SHOW_EVERY:     # a long queue shows its way
                    shown_at = loop.time()
                    await self.show(result)
            finish(result)
            await self.show(result)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the IOC outlives a dry run that went wrong
            log.exception("dry run failed")
            result["finished"] = True
            await self.show(result)

    async def _dry_run_one(self, job: Job, found: Review) -> dict[str, Any]:
        if found.problems:
            return {"status": "not run", "why": "it has problems (see problems)"}
        if not found.details.get("simulated"):
            return {"status": "not simulated",
                    "why": "it does not declare dry-run behaviour (it never calls "
                           "is_dry_run()), so it was not run"}
        outcome = await self.runner.dry_run(self.payload(job))
        shown = {"status": outcome.get("status", "failed"),
                 "seconds": outcome.get("simulated_seconds"),
                 "output": outcome.get("output", "")[-OUTPUT_KEPT:],
                 "not_simulated": outcome.get("not_simulated", []),
                 "phases": outcome.get("phases", [])}
        if outcome.get("error"):
            shown["error"] = outcome["error"]
        return shown


def verdict(jobs: list[Job], reviews: list[Review]) -> dict[str, Any]:
    """The static part of the result: shown as soon as the checks are done."""
    problems = [{"job": i + 1, "name": job.name, **p.as_dict()}
                for i, (job, found) in enumerate(zip(jobs, reviews)) for p in found.problems]
    warnings = [{"job": i + 1, "name": job.name, **p.as_dict()}
                for i, (job, found) in enumerate(zip(jobs, reviews)) for p in found.warnings]
    shown = []
    for job, found in zip(jobs, reviews):
        shown.append({"id": job.id if job.id > 0 else None, "name": job.name, "kind": job.kind,
                      "estimate": job.estimate, "estimate_source": job.estimate_source,
                      "pausable": job.pausable,
                      "simulated": bool(found.details.get("simulated")),
                      "dry_run": {"status": "waiting"}})
    result: dict[str, Any] = {"valid": not problems, "finished": False, "problems": problems,
                              "warnings": warnings, "jobs": shown,
                              **_total(j["estimate"] for j in shown)}
    if problems:
        result["error"] = "; ".join(
            (f"job {p['job']}: " if len(jobs) > 1 else "") +
            (f"line {p['line']}: " if p["line"] else "") + p["text"] for p in problems)
    return result


def finish(result: dict[str, Any]) -> None:
    """The dry run is done: its simulated time is the estimate where it ran in full."""
    failed = [j for j in result["jobs"] if j["dry_run"]["status"] == "failed"]
    for job in failed:
        result["problems"].append({"job": result["jobs"].index(job) + 1, "name": job["name"],
                                   "line": None,
                                   "text": f"dry run failed: {job['dry_run'].get('error', '')}"})
    result["valid"] = not result["problems"]
    ran = [j["dry_run"]["seconds"] if j["dry_run"]["status"] == "finished" else j["estimate"]
           for j in result["jobs"]]
    result.update(_total(ran))
    result["dry_run_seconds"] = round(sum(
        j["dry_run"].get("seconds") or 0.0 for j in result["jobs"]), 3)
    result["finished"] = True


def _total(seconds) -> dict[str, Any]:
    """{"estimate": seconds of the jobs with one, "estimate_unknown": how many have none}"""
    values = list(seconds)
    known = [s for s in values if s is not None]
    return {"estimate": round(sum(known), 3) if known else None,
            "estimate_unknown": len(values) - len(known)}
