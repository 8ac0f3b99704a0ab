"""``scriptserver``: queue, control and watch jobs without writing JSON for caput.

Every subcommand is a few Channel Access reads and puts on the server's PVs; a
refused put prints the server's own words and exits 1, no answer exits 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from rich.text import Text

from scriptserver.jobs import arguments
from scriptserver.jobs.errors import RequestRefused

from . import render, watch
from .channels import Refused, Server, Unreachable, default_prefix

REFUSED, UNREACHABLE = 1, 2


def _position(text: str) -> int | str:
    return int(text) if text.lstrip("-").isdigit() else text


def _command(server: Server, name: str) -> dict[str, Any] | None:
    return next((c for c in server.get_json("COMMANDS") or [] if c["name"] == name), None)


def add(server: Server, args: argparse.Namespace) -> Any:
    if args.script:
        path = Path(args.script)
        job: dict[str, Any] = {"script": path.read_text(), "name": args.name or path.name}
    elif args.script_file:
        job = {"script_file": args.script_file}
    elif args.command:
        command = _command(server, args.command)
        if command is None:              # the server refuses it, with its "did you mean"
            job = {"command": args.command, "args": {}}
        else:
            job = {"command": args.command, "args": arguments.parse(args.arguments, command)}
    else:
        raise RequestRefused("say what to add: a command and its arguments "
                             "(add set_ei energy=25), --script FILE or --script-file NAME")
    if args.name and "name" not in job:
        job["name"] = args.name
    if args.pos is not None:
        job["pos"] = _position(args.pos)
    server.put("QUEUE:ADD", job)
    ids = server.get("QUEUE:ADD:IDS")
    return {"ids": ids}, f"queued job {', '.join(map(str, ids))}"


def queue(server: Server, args: argparse.Namespace) -> Any:
    jobs, current = server.get_json("QUEUE") or [], server.get_json("JOB")
    return {"current": current, "queue": jobs}, render.queue_table(jobs, current)


def history(server: Server, args: argparse.Namespace) -> Any:
    runs = (server.get_json("HISTORY") or [])[: args.limit]
    return runs, render.history_table(runs)


def show(server: Server, args: argparse.Namespace) -> Any:
    server.put("QUEUE:GET", args.id)
    record = server.get_json("QUEUE:GET:RESULT")
    return record, render.record_table(record)


def move(server: Server, args: argparse.Namespace) -> Any:
    request: dict[str, Any] = {"id": args.id}
    if args.before is not None:
        request["before"] = args.before
    elif args.after is not None:
        request["after"] = args.after
    elif args.pos is not None:
        request["pos"] = _position(args.pos)
    else:
        raise RequestRefused("say where to: a position (0 is next, front, back), "
                             "--before ID or --after ID")
    server.put("QUEUE:MOVE", request)
    return {"moved": args.id}, f"moved job {args.id}"


def remove(server: Server, args: argparse.Namespace) -> Any:
    server.put("QUEUE:REMOVE", args.ids)
    return {"removed": args.ids}, f"removed job {', '.join(map(str, args.ids))}"


def control(pv: str, done: str) -> Callable[[Server, argparse.Namespace], Any]:
    def act(server: Server, args: argparse.Namespace) -> Any:
        target = "JOB:PAUSE:NOW" if pv == "JOB:PAUSE" and args.now else pv
        server.put(target, 1)
        return {"done": target, "state": server.get("STATE"),
                "queue": server.get("QUEUE:STATE")}, done
    return act


def login(server: Server, args: argparse.Namespace) -> Any:
    if not server.serves("TOKEN"):
        raise RequestRefused(f"{server.prefix}TOKEN is not served: this server has no login "
                             "(or this client may not read it: only clients with write "
                             "rights can)")
    server.put("AUTH:LOGIN", server.get("TOKEN"))
    return {"logged_in": True}, "logged in"


def commands(server: Server, args: argparse.Namespace) -> Any:
    described = server.get_json("COMMANDS") or []
    rows = [(arguments.signature(c), c.get("summary", "")) for c in described]
    return described, render.table("commands", ("call", "what it does"), rows)


# subcommand -> (what it does, how it is done)
ACTIONS: dict[str, tuple[str, Callable[[Server, argparse.Namespace], Any]]] = {
    "add": ("queue a command call, a script file or a stored script", add),
    "queue": ("show the running job and the queue", queue),
    "history": ("show past runs, newest first", history),
    "show": ("show one job as submitted, with every run", show),
    "move": ("move a queued job", move),
    "remove": ("remove queued jobs", remove),
    "start": ("run the queue", control("QUEUE:START", "queue started")),
    "stop": ("let the current job finish, then stop", control("QUEUE:STOP", "queue stopping")),
    "pause": ("pause the job at its next pause point (--now: next line)",
              control("JOB:PAUSE", "pause asked")),
    "resume": ("continue the paused job", control("JOB:RESUME", "resumed")),
    "abort": ("abort the job: its cleanup runs, it goes back to the head of the queue",
              control("JOB:ABORT", "aborted")),
    "halt": ("halt the job: killed now, no cleanup", control("JOB:HALT", "halted")),
    "login": ("log in for writing (reads TOKEN, writes AUTH:LOGIN)", login),
    "commands": ("list the commands and their arguments", commands),
    "watch": ("follow the running job until it ends", None),   # its own loop: watch.py
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="scriptserver", description=__doc__.splitlines()[0])
    top.add_argument("--prefix", default=default_prefix(),
                     help="PV prefix of the server (env SCRIPTSERVER_PREFIX; default P:)")
    top.add_argument("--json", action="store_true", help="print JSON instead of tables")
    top.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for answers")
    sub = top.add_subparsers(dest="action", required=True, metavar="ACTION")
    parsers = {name: sub.add_parser(name, help=what) for name, (what, _) in ACTIONS.items()}
    p = parsers["add"]
    p.add_argument("command", nargs="?", help="command name, e.g. set_ei")
    p.add_argument("arguments", nargs="*", help="arguments: name=value, or values in order")
    p.add_argument("--script", metavar="FILE", help="queue this Python file as a script job")
    p.add_argument("--script-file", metavar="NAME", help="queue a stored script by name")
    p.add_argument("--name", help="name shown in the queue and history")
    p.add_argument("--pos", help="where: an index, front or back (default back)")
    parsers["history"].add_argument("--limit", type=int, default=20, help="runs to show")
    parsers["show"].add_argument("id", type=int)
    p = parsers["move"]
    p.add_argument("id", type=int)
    p.add_argument("pos", nargs="?", help="new position: an index, front or back")
    p.add_argument("--before", type=int, metavar="ID")
    p.add_argument("--after", type=int, metavar="ID")
    parsers["remove"].add_argument("ids", type=int, nargs="+", metavar="ID")
    parsers["pause"].add_argument("--now", action="store_true",
                                  help="pause at the next Python line, for any job")
    return top


def run(args: argparse.Namespace) -> int:
    server = Server(args.prefix, timeout=args.timeout)   # its threads end with the process
    try:
        if args.action == "watch":
            return watch.follow(server, args.json)
        data, shown = ACTIONS[args.action][1](server, args)
    except (Refused, RequestRefused) as refused:
        return _fail(args, str(refused), REFUSED)
    except Unreachable as err:
        return _fail(args, str(err), UNREACHABLE)
    except OSError as err:
        return _fail(args, f"{err.filename or ''}: {err.strerror or err}", REFUSED)
    if args.json:
        render.emit_json(data)
    else:
        render.console.print(shown, markup=False)
    return 0


def _fail(args: argparse.Namespace, words: str, code: int) -> int:
    if args.json:
        render.emit_json({"error": words})
    render.errors.print(Text.assemble(("refused: ", "red"), words) if code == REFUSED
                        else Text(words), highlight=False)
    return code


def main(argv: list[str] | None = None) -> None:
    sys.exit(run(parser().parse_args(argv)))


if __name__ == "__main__":
    main()
