"""Who may read and write which PV: one pure decision, the same for every face.

A client is its *real* peer address (the address its connection comes from, never
the host name it claims) and its CA user name. The configured rules give it a
level; each PV needs a level; a session (after ``AUTH:LOGIN``) is what turns a
permitted write into an accepted one when login is on.

    rights(policy, peer, user, need, session) -> Rights

No caproto, no sockets, no clock: the faces (ioc/ca_access.py, ioc/pva.py) ask
this and apply the answer.
"""
from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Level(IntEnum):
    """What a client may do, each level including the ones below it."""
    NONE = 0
    READ = 1          # status PVs
    OPERATE = 2       # queue, edit, move, skip, repeat, requeue, start/stop, pause/resume/abort
    MANAGE = 3        # also clear queue or history, reload commands, queue mode and
                      # when-empty, ending others' sessions

    @classmethod
    def named(cls, name: str) -> "Level":
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"level must be read, operate or manage, not {name!r}") from None


class Need(Enum):
    """What a PV asks of a client."""
    STATUS = "status"     # read: Level.READ; never written
    SECRET = "secret"     # read only by those allowed to write (TOKEN, USERS)
    LOGIN = "login"       # written by those allowed to write, without a session (AUTH:*)
    OPERATE = "operate"   # written with Level.OPERATE and, when login is on, a session
    MANAGE = "manage"     # written with Level.MANAGE and, when login is on, a session


# PVs whose need is not the default (status PVs: STATUS, control PVs: OPERATE).
NEEDS: dict[str, Need] = {
    "QUEUE:CLEAR": Need.MANAGE,
    "QUEUE:MODE": Need.MANAGE,
    "QUEUE:MODE:SP": Need.MANAGE,
    "QUEUE:WHEN_EMPTY": Need.MANAGE,
    "HISTORY:CLEAR": Need.MANAGE,
    "COMMANDS:RELOAD": Need.MANAGE,
    "TOKEN": Need.SECRET,
    "USERS": Need.SECRET,
    "AUTH:LOGIN": Need.LOGIN,
    "AUTH:LOGOUT": Need.LOGIN,
}

WRITE_LEVEL = {Need.LOGIN: Level.OPERATE, Need.OPERATE: Level.OPERATE,
               Need.MANAGE: Level.MANAGE}
READ_LEVEL = {Need.SECRET: Level.OPERATE}       # every other need: Level.READ


def need_of(name: str, has_action: bool) -> Need:
    """The need of a PV from its name (after the prefix) and whether puts act."""
    return NEEDS.get(name, Need.OPERATE if has_action else Need.STATUS)


@dataclass(frozen=True)
class Who:
    """A client as the access rules see it: CA user name and real peer address."""
    user: str
    host: str

    def __str__(self) -> str:
        return f"{self.user}@{self.host}"


@dataclass(frozen=True)
class Rule:
    """Clients from one of ``hosts`` (addresses or networks), and, when ``users``
    is given, with one of those user names, get ``level``."""
    hosts: tuple[Network, ...]
    level: Level
    users: frozenset[str] | None = None          # None: any user

    def matches(self, peer: ipaddress.IPv4Address | ipaddress.IPv6Address, user: str) -> bool:
        return (any(peer in net for net in self.hosts)
                and (self.users is None or user in self.users))


LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...] = (Rule(LOOPBACK, Level.MANAGE),)
    login: bool = True


@dataclass(frozen=True)
class Rights:
    read: bool
    write: bool = False            # the rules allow writing: what cainfo shows
    login_needed: bool = False     # ... but a put is refused until the client logs in

    @property
    def may_put(self) -> bool:
        return self.write and not self.login_needed


def level(policy: Policy, peer: str, user: str) -> Level:
    """The highest level any rule gives this client (NONE if none matches)."""
    address = parse_peer(peer)
    if address is None:
        return Level.NONE
    return max((r.level for r in policy.rules if r.matches(address, user)), default=Level.NONE)


@functools.lru_cache(maxsize=4096)      # asked on every CA read and write: a pure function
def rights(policy: Policy, peer: str, user: str, need: Need, session: bool) -> Rights:
    """What this client may do with a PV of this need, given whether it has a session."""
    granted = level(policy, peer, user)
    read = granted >= READ_LEVEL.get(need, Level.READ)
    if need not in WRITE_LEVEL or granted < WRITE_LEVEL[need]:
        return Rights(read=read)
    login_needed = policy.login and need is not Need.LOGIN and not session
    return Rights(read=read, write=True, login_needed=login_needed)


def parse_peer(peer: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """A peer address as an IP address (IPv4-mapped IPv6 as IPv4); None if it is not one."""
    try:
        address = ipaddress.ip_address(peer.split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def networks(hosts: Iterable[str]) -> tuple[Network, ...]:
    """Addresses and networks (``10.1.2.0/24``); raises ValueError naming a bad one."""
    nets = []
    for host in hosts:
        try:
            nets.append(ipaddress.ip_network(host, strict=False))
        except ValueError:
            raise ValueError(f"{host!r} is not an address or network "
                             "(e.g. 127.0.0.1 or 10.1.2.0/24)") from None
    return tuple(nets)
