"""The ``access:`` section of the configuration, checked at start, one line per mistake.

    access:
      login: true              # a client with write rights logs in (P:AUTH:LOGIN) first
      session_hours: 8         # renewed on every accepted put
      rules:                   # default: loopback (127.0.0.1, ::1) gets manage
        - {hosts: ["127.0.0.1", "10.1.2.0/24"], level: operate}
        - {hosts: ["10.1.2.7"], users: [alice], level: manage}
      # or, instead of rules, a site's EPICS access security file:
      # acf: /path/to/site.acf
      # acf_group: DEFAULT
"""
from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import acf
from .access import Level, Policy, Rule, networks

KEYS = {"login": "true or false", "session_hours": "hours a session lasts unused",
        "rules": "a list of {hosts: [...], users: [...], level: read|operate|manage}",
        "acf": "the path of an EPICS access security file", "acf_group": "the ASG to use"}
RULE_KEYS = ("hosts", "users", "level")
DEFAULT_SESSION_HOURS = 8.0


@dataclass(frozen=True)
class AccessConfig:
    policy: Policy = field(default_factory=Policy)
    session_seconds: float = DEFAULT_SESSION_HOURS * 3600


def resolve(host: str) -> list[str]:
    """A host as addresses: an address or network as it is, a name through DNS."""
    try:
        networks([host])
        return [host]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        raise ValueError(f"host {host!r} is not an address and its name does not resolve") \
            from None
    return sorted({info[4][0] for info in infos})


def read(raw: Any, here: Path) -> tuple[AccessConfig, list[str]]:
    """The access settings and the mistakes found (prefixed ``access:``)."""
    if raw is None:
        return AccessConfig(), []
    if not isinstance(raw, dict):
        return AccessConfig(), []               # config.check() reports it
    mistakes = [f"access: unknown key {k!r}; known keys: {', '.join(KEYS)}"
                for k in raw if k not in KEYS]
    login = raw.get("login", True)
    if not isinstance(login, bool):
        mistakes.append(f"access: login must be true or false, not {login!r}")
        login = True
    hours = raw.get("session_hours", DEFAULT_SESSION_HOURS)
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or hours <= 0:
        mistakes.append(f"access: session_hours must be a number of hours over 0, not {hours!r}")
        hours = DEFAULT_SESSION_HOURS
    if "rules" in raw and "acf" in raw:
        mistakes.append("access: give rules or acf, not both")
    rules: list[Rule] | None = None
    if "acf" in raw:
        rules = _from_acf(raw, here, mistakes)
    elif "rules" in raw:
        rules = _from_rules(raw["rules"], mistakes)
    policy = Policy(login=login) if rules is None else Policy(tuple(rules), login)
    return AccessConfig(policy, float(hours) * 3600), mistakes


def _from_rules(raw: Any, mistakes: list[str]) -> list[Rule]:
    if not isinstance(raw, list):
        mistakes.append(f"access: rules must be {KEYS['rules']}")
        return []
    rules = []
    for n, item in enumerate(raw, 1):
        where = f"access: rule {n}"
        if not isinstance(item, dict):
            mistakes.append(f"{where} must be a mapping such as "
                            "{hosts: [\"127.0.0.1\"], level: operate}")
            continue
        mistakes += [f"{where}: unknown key {k!r}; known keys: {', '.join(RULE_KEYS)}"
                     for k in item if k not in RULE_KEYS]
        try:
            level = Level.named(str(item.get("level", "")))
            if level is Level.NONE:
                raise ValueError("level must be read, operate or manage, not 'none'")
            hosts = item.get("hosts")
            if not isinstance(hosts, list) or not hosts:
                raise ValueError("hosts must be a list of addresses or networks, "
                                 "e.g. [\"127.0.0.1\", \"10.1.2.0/24\"]")
            found = [address for host in hosts for address in resolve(str(host))]
            users = item.get("users")
            if users is not None and (not isinstance(users, list)
                                      or not all(isinstance(u, str) for u in users)):
                raise ValueError("users must be a list of CA user names")
            rules.append(Rule(networks(found), level,
                              None if users is None else frozenset(users)))
        except ValueError as err:
            mistakes.append(f"{where}: {err}")
    return rules


def _from_acf(raw: dict[str, Any], here: Path, mistakes: list[str]) -> list[Rule]:
    path = here / str(raw["acf"])
    group = str(raw.get("acf_group", "DEFAULT"))
    try:
        return acf.rules(acf.parse(path.read_text()), group, resolve)
    except OSError as err:
        mistakes.append(f"access: cannot read acf file {path}: {err.strerror}")
    except acf.AcfError as err:
        mistakes += [f"access: {path}: {m}" for m in err.mistakes]
    return []
