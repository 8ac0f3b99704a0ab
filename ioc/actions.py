"""Operator actions: what a put on each control PV does.

Each action turns the put's value into one manager request (checking the jobs
it names against what exists here first) and hands the effects to the service.
``ACTIONS`` maps the action names of the PV table to these functions; a test
checks that every action the table names is here.
"""
from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from scriptserver.jobs.errors import RequestRefused, shown
from scriptserver.jobs.manager import JobManager, NewJob
from scriptserver.jobs.queue import Where, is_index
from scriptserver.jobs.spec import parse_job, parse_json, type_name

from .gate import ACTING
from .pvs import Topic
from .serialized import dumps

if TYPE_CHECKING:
    from .service import ScriptServer

Action = Callable[["ScriptServer", Any], Awaitable[None]]


async def add(server: "ScriptServer", value: str) -> None:
    jobs, where, batch = await server.admission.admit(value)
    await _queue(server, jobs, where, batch)


async def validate(server: "ScriptServer", value: str) -> None:
    """Every problem, the estimate, then a dry run (ioc/validating.py); nothing queued."""
    await server.validator.validate(value, server.manager.queue)


async def move(server: "ScriptServer", value: str) -> None:
    data = request(value, "move", {"id"}, {"pos", "before", "after"})
    where = Where(data.get("pos"), data.get("before"), data.get("after"))
    await server.request(lambda m: m.move(data["id"], where))


async def remove(server: "ScriptServer", value: str) -> None:
    data = parse_json(value, "the id(s) to remove")
    if isinstance(data, dict):
        data = server.manager.queue.at(request(data, "remove", {"pos"}, set())["pos"]).id
    await server.request(lambda m: m.remove(data if isinstance(data, list) else [data]))


async def skip(server: "ScriptServer", value: str) -> None:
    text = value.strip()
    job_id = None if text in ("", "next") else parse_json(text, "the id to skip")
    await server.request(lambda m: m.skip(job_id, time.time()))


async def repeat(server: "ScriptServer", value: str) -> None:
    data = request(value, "repeat", {"id"}, {"times"})
    times = data.get("times", 1)
    await server.request(lambda m: m.repeat(data["id"], times, by=_submitter(),
                                            now=time.time()))


async def edit(server: "ScriptServer", value: str) -> None:
    data = request(value, "edit", {"id", "job"}, set())
    new = server.estimator.from_history([await server.admission.admit_one(
        parse_job(data["job"]))])[0]
    await server.request(lambda m: m.edit(data["id"], new))
    server.estimate_later([server.manager.queue.get(data["id"])])


async def requeue(server: "ScriptServer", value: str) -> None:
    """Queue a copy of a job from its stored record, with edits if given."""
    data = parse_json(value, "the job to requeue")
    again = request(data if isinstance(data, dict) else {"id": data}, "requeue", {"id"},
                    {"job", "pos", "before", "after"})
    record = server.store.job_record(again["id"]) if is_index(again["id"]) else None
    if record is None:
        raise RequestRefused(f"no job has id {shown(again['id'])}")
    spec = parse_job(again.get("job", record["job"]))
    where = Where(again.get("pos"), again.get("before"), again.get("after"))
    await _queue(server, [await server.admission.admit_one(spec)], where, None)


async def get(server: "ScriptServer", value: str) -> None:
    data = parse_json(value, "the job id (or {\"pos\": n})") if isinstance(value, str) else value
    if isinstance(data, dict):
        data = server.manager.queue.at(request(data, "get", {"pos"}, set())["pos"]).id
    if not is_index(data):
        raise RequestRefused(f'give a job id (a whole number) or {{"pos": n}}, not '
                             f"{type_name(data)}")
    record = server.store.job_record(data)
    if record is None:
        raise RequestRefused(f"no job has id {data}")
    manager = server.manager
    record["where"] = ("running" if manager.current is not None and manager.current.id == data
                       else "queue" if data in manager.queue else "history")
    server.notes.record = dumps(record)
    await server.publish({Topic.RECORD})


# Actions that take no argument (the put's value is ignored): one manager request each.
SIMPLE: dict[str, Callable[[JobManager], list]] = {
    "start_queue": lambda m: m.start(time.time()),
    "stop_queue": lambda m: m.stop(time.time()),
    "clear_queue": JobManager.clear,
    "clear_history": JobManager.clear_history,
    "pause": lambda m: m.pause(now=False),
    "pause_now": lambda m: m.pause(now=True),
    "resume": lambda m: m.resume(time.time()),
    "abort": JobManager.abort,
    "halt": JobManager.halt,
}


def _simple(name: str) -> Action:
    async def act(server: "ScriptServer", value: Any) -> None:
        await server.request(SIMPLE[name])
    return act


async def set_mode(server: "ScriptServer", value: Any) -> None:
    await server.request(lambda m: m.set_mode(str(value)))


async def set_when_empty(server: "ScriptServer", value: Any) -> None:
    await server.request(lambda m: m.set_when_empty(str(value)))


async def show_queue_from(server: "ScriptServer", value: Any) -> None:
    server.status.rows.set_offset("queue", value)
    await server.publish({Topic.ROWS})


async def show_history_from(server: "ScriptServer", value: Any) -> None:
    server.status.rows.set_offset("history", value)
    await server.publish({Topic.ROWS})


async def set_form_command(server: "ScriptServer", value: Any) -> None:
    server.notes.form.command = str(value)
    await server.publish({Topic.FORM})


async def set_form_args(server: "ScriptServer", value: Any) -> None:
    server.notes.form.args = str(value)
    await server.publish({Topic.FORM})


async def add_from_form(server: "ScriptServer", value: Any) -> None:
    """Queue the command form's call (ioc/form.py), as QUEUE:ADD would."""
    await add(server, dumps(server.notes.form.job(server.commands.describe())))


async def reload_commands(server: "ScriptServer", value: Any) -> None:
    await server.refresh_commands(force=True)


async def login(server: "ScriptServer", value: Any) -> None:
    # checking a token is a deliberately slow hash (~80 ms): off the loop, so PVs keep flowing
    await asyncio.to_thread(server.gate.login, _client(), str(value))
    await server.publish({Topic.USERS})


async def logout(server: "ScriptServer", value: Any) -> None:
    server.gate.logout(_client(), str(value))
    await server.publish({Topic.USERS})


def _client():
    who = ACTING.get()
    if who is None:
        raise RequestRefused("login and logout are for clients, not the server itself")
    return who


def _submitter() -> str:
    """Who the put came from, as user@host, recorded with the jobs it queues."""
    who = ACTING.get()
    return "" if who is None else str(who)


async def _queue(server: "ScriptServer", jobs: list[NewJob], where: Where,
                 batch: str | None) -> None:
    jobs = server.estimator.from_history(jobs)
    by = _submitter()
    await server.request(lambda m: m.add(jobs, where, batch=batch, by=by, now=time.time()))
    added = set(server.notes.added)
    server.estimate_later([job for job in server.manager.queue if job.id in added]
                          + [j for j in [server.manager.current] if j and j.id in added])


def request(value: Any, what: str, required: set[str], optional: set[str]) -> dict[str, Any]:
    """A small JSON object request (MOVE, REPEAT, EDIT, ...) with its keys checked."""
    data = parse_json(value, f"the {what} request") if isinstance(value, str) else value
    if not isinstance(data, dict):
        raise RequestRefused(f"{what} takes a JSON object with {', '.join(sorted(required))}")
    missing = sorted(required - set(data))
    unknown = sorted(set(data) - required - optional)
    if missing:
        raise RequestRefused(f"{what}: {', '.join(missing)} missing")
    if unknown:
        raise RequestRefused(f"{what}: unknown key(s) {', '.join(unknown)}; allowed: "
                             f"{', '.join(sorted(required | optional))}")
    return data


ACTIONS: dict[str, Action] = {
    **{name: _simple(name) for name in SIMPLE},
    "add": add,
    "validate": validate,
    "move": move,
    "remove": remove,
    "skip": skip,
    "repeat": repeat,
    "edit": edit,
    "requeue": requeue,
    "get": get,
    "set_mode": set_mode,
    "set_when_empty": set_when_empty,
    "reload_commands": reload_commands,
    "login": login,
    "logout": logout,
    "show_queue_from": show_queue_from,
    "show_history_from": show_history_from,
    "set_form_command": set_form_command,
    "set_form_args": set_form_args,
    "add_from_form": add_from_form,
}
