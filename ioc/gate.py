"""The gate every put passes: rights from the rules, then a session from a login.

Holds the policy, this start's token, the open sessions and the brake on
guessing; the faces ask it, the service's login and logout actions use it.
No caproto and no asyncio here: the CA adapter is ioc/ca_access.py.
"""
from __future__ import annotations

import contextvars
import logging
import time
from typing import Any, Callable

from scriptserver.jobs.errors import RequestRefused

from .access import Level, Need, Rights, Who, level, rights
from .access_config import AccessConfig
from .sessions import Brake, Sessions, Token, TooManyTries

log = logging.getLogger(__name__)

# Who the put being carried out came from: set by the face around the write, read
# by the actions that record it (QUEUE:ADD's "by") or act on it (login, logout).
ACTING: contextvars.ContextVar[Who | None] = contextvars.ContextVar("acting", default=None)


class Gate:
    def __init__(self, settings: AccessConfig, prefix: str,
                 clock: Callable[[], float] = time.time):
        self.policy = settings.policy
        self.prefix = prefix
        self.clock = clock
        self.sessions = Sessions(settings.session_seconds)
        self.brake = Brake()
        self._token = Token()
        self.token_text = self._token.text     # only ever served as P:TOKEN
        del self._token.text

    @property
    def login_line(self) -> str:
        """The one shell line that logs a client in."""
        return (f'caput -S {self.prefix}AUTH:LOGIN "$(caget -t -S {self.prefix}TOKEN)"')

    def rights(self, who: Who, need: Need) -> Rights:
        """Rights for access-rights display: a session does not change what is shown."""
        return rights(self.policy, who.host, who.user, need, session=True)

    def admit(self, who: Who, name: str, need: Need) -> None:
        """Let a put through, or raise RequestRefused saying what the client can do."""
        has_session = self.sessions.active(who, self.clock())
        decided = rights(self.policy, who.host, who.user, need, has_session)
        if decided.may_put:
            return
        if decided.login_needed:
            raise RequestRefused(f"{who} is not logged in; log in first with: "
                                 f"{self.login_line}")
        raise RequestRefused(f"{who} may not write {name}: the access rules give this "
                             f"client {_words(level(self.policy, who.host, who.user))} "
                             f"rights, {need.value} needs more")

    def login(self, who: Who, text: str) -> None:
        now = self.clock()
        granted = level(self.policy, who.host, who.user)
        if granted < Level.OPERATE:
            raise RequestRefused(f"{who} may not log in: the access rules give it "
                                 f"{_words(granted)} rights")
        try:
            self.brake.check(who.host, now)
        except TooManyTries as wait:
            raise RequestRefused(f"too many wrong tokens from {who.host}: try again in "
                                 f"{wait.seconds:.0f} s") from None
        if not self._token.matches(str(text)):
            count = self.brake.wrong(who.host, now)
            log.warning("wrong token from %s (%d in a row)", who, count)
            raise RequestRefused("wrong token: it changes at every start; read the current "
                                 f"one from {self.prefix}TOKEN (caget -t -S {self.prefix}TOKEN)")
        self.brake.right(who.host)
        self.sessions.open(who, granted, now)
        log.info("%s logged in (%s)", who, granted.name.lower())

    def logout(self, who: Who, target: str) -> None:
        """End ``who``'s own session (any value but user@host), or, with manage rights,
        the session of ``user@host``."""
        target = str(target).strip()
        if "@" not in target or target == str(who):
            ended = self.sessions.close(who)
            log.info("%s logged out%s", who, "" if ended else " (had no session)")
            return
        user, _, host = target.rpartition("@")
        if level(self.policy, who.host, who.user) < Level.MANAGE:
            raise RequestRefused(f"{who} may end only its own session: ending {target}'s "
                                 "needs manage rights")
        if not self.sessions.close(Who(user, host)):
            raise RequestRefused(f"{target} has no session")
        log.info("%s ended the session of %s", who, target)

    def users(self) -> list[dict[str, Any]]:
        return self.sessions.listing(self.clock())

    def expire(self) -> bool:
        """End the sessions unused for their time; True if any ended."""
        return self.sessions.expire(self.clock())


def _words(granted: Level) -> str:
    return "no" if granted is Level.NONE else granted.name.lower()
