"""What a submitted job looks like, checked before anything is queued.

A job is a JSON object of one of three kinds:

- command:     {"command": "set_ei", "args": {"energy": 25.0}}
- script:      {"script": "<python source>"}
- script_file: {"script_file": "align.py"}   (a file in a configured script folder)

Every kind may carry ``name`` (shown in the queue and history) and ``params``
(a JSON object the job can read, e.g. one iteration of a script generator loop).
The checks here are about shape only; whether a command exists, or a script
file is inside a script folder, is decided by the adapters that know them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .errors import RequestRefused, shown
from .values import check_value

KIND_KEYS = {
    "command": {"args"},
    "script": set(),
    "script_file": set(),
}
COMMON_KEYS = {"name", "params"}
MAX_NAME = 200
MAX_SCRIPT_BYTES = 1_000_000
MAX_DEPTH = 32            # nesting of lists/objects; the IOC sets it from limits.json_depth


@dataclass(frozen=True)
class JobSpec:
    """A job as submitted, after its shape was checked."""

    kind: str
    body: dict[str, Any] = field(hash=False)

    @cached_property
    def name(self) -> str:
        """Worked out once: the row windows, tables and JSON read it for every queued job."""
        return self.body.get("name") or default_name(self.kind, self.body)


def default_name(kind: str, body: dict[str, Any]) -> str:
    if kind == "command":
        args = ", ".join(f"{k}={v!r}" for k, v in body.get("args", {}).items())
        return f"{body['command']}({args})"[:MAX_NAME]
    if kind == "script_file":
        return body["script_file"]
    first = next((ln.strip() for ln in body["script"].splitlines() if ln.strip()), "")
    return ("script: " + first)[:MAX_NAME]


def parse_json(text: str, what: str = "job") -> Any:
    """Parse JSON typed by a user.

    Control characters inside strings are accepted: ``caput -S`` turns a typed
    ``\\n`` into a real newline before sending, and the user meant a newline.
    """
    text = text.strip()
    if not text:
        raise RequestRefused(f"empty {what}: send a JSON object, e.g. "
                             '{"command": "wait", "args": {"seconds": 2}}')
    try:
        data = json.loads(text, strict=False)
    except json.JSONDecodeError as err:
        raise RequestRefused(f"{what} is not valid JSON: {err.msg} at line {err.lineno} "
                             f"column {err.colno}") from None
    except RecursionError:
        raise RequestRefused(f"{what} nests lists/objects too deeply to read (the limit is "
                             f"{MAX_DEPTH}); flatten it") from None
    except ValueError:                 # Python refuses integers of more than 4300 digits
        raise RequestRefused(f"{what} has a number with thousands of digits; whole numbers "
                             "must lie between -9223372036854775808 and "
                             "9223372036854775807") from None
    check_value(data, what, MAX_DEPTH)
    return data


def kind_of(body: dict[str, Any]) -> str:
    kinds = [k for k in KIND_KEYS if k in body]
    if len(kinds) != 1:
        found = " and ".join(repr(k) for k in kinds) if kinds else "none of them"
        raise RequestRefused('a job needs exactly one of "command", "script" or '
                             f'"script_file"; found {found}')
    return kinds[0]


def parse_job(body: Any) -> JobSpec:
    """Check the shape of one job (already decoded from JSON)."""
    if not isinstance(body, dict):
        raise RequestRefused(f"a job must be a JSON object, not {type_name(body)}")
    kind = kind_of(body)
    allowed = {kind} | KIND_KEYS[kind] | COMMON_KEYS
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise RequestRefused(f"unknown key(s) {', '.join(map(repr, unknown))} in a {kind} job; "
                             f"allowed: {', '.join(sorted(allowed))}")
    CHECKS[kind](body)
    if "name" in body:
        _expect(body, "name", str, "a string")
        if len(body["name"]) > MAX_NAME:
            raise RequestRefused(f'"name" is longer than {MAX_NAME} characters')
    if "params" in body:
        _expect(body, "params", dict, "a JSON object")
    return JobSpec(kind, dict(body))


def _check_command(body: dict[str, Any]) -> None:
    _expect(body, "command", str, "a command name (string)")
    if not body["command"].isidentifier():
        raise RequestRefused(f"{shown(body['command'])} is not a command name")
    body.setdefault("args", {})
    _expect(body, "args", dict, 'a JSON object of argument names to values, e.g. {"seconds": 2}')


def _check_script(body: dict[str, Any]) -> None:
    _expect(body, "script", str, "Python source (a string)")
    if not body["script"].strip():
        raise RequestRefused("the script is empty")
    if len(body["script"].encode()) > MAX_SCRIPT_BYTES:
        raise RequestRefused(f"the script is over {MAX_SCRIPT_BYTES} bytes; store it in a "
                             'script folder and submit {"script_file": ...} instead')


def _check_script_file(body: dict[str, Any]) -> None:
    _expect(body, "script_file", str, "a path relative to a script folder (string)")
    if not body["script_file"].strip():
        raise RequestRefused('"script_file" is empty')


CHECKS = {"command": _check_command, "script": _check_script, "script_file": _check_script_file}


def _expect(body: dict[str, Any], key: str, typ: type, what: str) -> None:
    if not isinstance(body[key], typ) or isinstance(body[key], bool) and typ is not bool:
        raise RequestRefused(f'"{key}" must be {what}, not {type_name(body[key])}')


def type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), "a value")
