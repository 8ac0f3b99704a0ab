"""The YAML configuration: read once at start, every mistake reported on its own line."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from scriptserver.jobs.states import QUEUE_MODES, WHEN_EMPTY

from . import access_config
from . import limits as bounds
from .access_config import AccessConfig

DEMO_CONFIG = "demo.yaml"


class ConfigError(Exception):
    """The configuration file has mistakes; the message has one line per mistake."""


@dataclass
class Config:
    prefix: str
    commands: list[Path]
    scripts: list[Path]
    state_dir: Path
    preload: list[str] = field(default_factory=list)
    spare_process: bool = True
    abort_grace: float = 3.0
    queue_mode: str = "STOP_ON_FAILURE"
    when_empty: str = "STOP"
    history_length: int = 200
    interfaces: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    line_interval: float = 0.1
    update_rate: float = 10.0
    pva: bool = True
    access: AccessConfig = field(default_factory=AccessConfig)
    rows: int = 10
    limits: bounds.Limits = field(default_factory=bounds.Limits)
    source: Path | None = None


# key -> (type check, what it must be, required)
KEYS: dict[str, tuple[Any, str, bool]] = {
    "prefix": (str, "a PV prefix such as 'IN:INST:CS:SS:'", True),
    "commands": (list, "a list of command folders", True),
    "scripts": (list, "a list of script folders", False),
    "state_dir": (str, "a folder for the store and logs", False),
    "preload": (list, "a list of module names the job launcher imports once", False),
    "spare_process": (bool, "true or false: keep a spare job process forked ahead, so a "
                      "job starts without a fork", False),
    "abort_grace": ((int, float), "seconds a job's cleanup gets on abort", False),
    "queue_mode": (str, " or ".join(QUEUE_MODES), False),
    "when_empty": (str, " or ".join(WHEN_EMPTY) + " (what the queue does when it has run "
                   "out of jobs)", False),
    "history_length": (int, "how many runs P:HISTORY shows", False),
    "interfaces": (list, "a list of addresses to serve Channel Access on", False),
    "line_interval": ((int, float), "seconds between samples of a job's current line "
                      "(0 turns line reporting off)", False),
    "update_rate": ((int, float), "updates per second, at most, of each PV a running job "
                    "changes as fast as it likes (progress, line, message, output, phases; "
                    "0: every change)", False),
    "pva": (bool, "true or false: also serve the PVs over PV Access (pvapy)", False),
    "access": (dict, "who may read and write: login, session_hours, rules or acf", False),
    "rows": (int, "how many QUEUE:ROW:n and HISTORY:ROW:n rows to serve (1 to 100)", False),
    "limits": (dict, "a mapping of limits (see README, Limits)", False),
}


def default_state_dir(prefix: str) -> Path:
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "scriptserver" / (prefix.strip(":").replace(":", "_") or "default")


def demo_config_path() -> Path:
    return Path(str(resources.files("scriptserver.config") / DEMO_CONFIG))


def normal_prefix(prefix: str) -> str:
    return prefix if prefix.endswith(":") else prefix + ":"


def load(path: Path | None = None, *, prefix: str | None = None,
         state_dir: str | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Read and check the configuration; ``overrides`` (IBEX macros), then
    ``prefix``/``state_dir`` override the file."""
    path = path or demo_config_path()
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the configuration: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the configuration must be a mapping of keys to values")
    raw.update(overrides or {})
    if prefix is not None:
        raw["prefix"] = prefix
    if state_dir is not None:
        raw["state_dir"] = state_dir
    mistakes = check(raw)
    here = path.parent
    folders = {key: [(here / str(f)).resolve() for f in raw[key]]
               if isinstance(raw.get(key), list) else [] for key in ("commands", "scripts")}
    for key, paths in folders.items():
        mistakes += [f"{key}: folder {p} does not exist" for p in paths if not p.is_dir()]
    access, access_mistakes = access_config.read(raw.get("access"), here)
    mistakes += access_mistakes
    if mistakes:
        raise ConfigError("\n".join(f"{path}: {m}" for m in mistakes))
    prefix_value = normal_prefix(raw["prefix"])
    return Config(
        prefix=prefix_value,
        commands=folders["commands"],
        scripts=folders["scripts"],
        state_dir=(here / raw["state_dir"]).resolve() if "state_dir" in raw
        else default_state_dir(prefix_value),
        preload=list(raw.get("preload", [])),
        spare_process=raw.get("spare_process", True),
        abort_grace=float(raw.get("abort_grace", 3.0)),
        queue_mode=raw.get("queue_mode", "STOP_ON_FAILURE"),
        when_empty=raw.get("when_empty", "STOP"),
        history_length=raw.get("history_length", 200),
        interfaces=list(raw.get("interfaces", ["127.0.0.1"])),
        line_interval=float(raw.get("line_interval", 0.1)),
        update_rate=float(raw.get("update_rate", 10.0)),
        pva=raw.get("pva", True),
        access=access,
        rows=raw.get("rows", 10),
        limits=bounds.from_config(raw.get("limits")),
        source=path,
    )


def check(raw: dict[str, Any]) -> list[str]:
    mistakes = [f"unknown key {key!r}; known keys: {', '.join(KEYS)}"
                for key in raw if key not in KEYS]
    for key, (typ, what, required) in KEYS.items():
        if key not in raw:
            if required:
                mistakes.append(f"{key} is missing: it must be {what}")
            continue
        value = raw[key]
        if not isinstance(value, typ) or isinstance(value, bool) and typ is not bool:
            mistakes.append(f"{key} must be {what}, not {value!r}")
        elif isinstance(value, list) and not all(isinstance(v, str) for v in value):
            mistakes.append(f"{key} must be {what} (strings)")
    for key, table in (("queue_mode", QUEUE_MODES), ("when_empty", WHEN_EMPTY)):
        if key in raw and isinstance(raw[key], str) and raw[key] not in table:
            mistakes.append(f"{key} must be {' or '.join(table)}, not {raw[key]!r}")
    if isinstance(raw.get("limits"), dict):
        mistakes += bounds.check(raw["limits"])
    if isinstance(raw.get("prefix"), str) and not raw["prefix"].strip(":"):
        mistakes.append("prefix must not be empty")
    for key in ("abort_grace", "line_interval"):
        if isinstance(raw.get(key), (int, float)) and raw[key] < 0:
            mistakes.append(f"{key} must be 0 or more seconds")
    if isinstance(raw.get("update_rate"), (int, float)) and raw["update_rate"] < 0:
        mistakes.append("update_rate must be 0 or more updates per second")
    if isinstance(raw.get("rows"), int) and not 1 <= raw["rows"] <= 100:
        mistakes.append(f"rows must be 1 to 100, not {raw['rows']}")
    return mistakes
