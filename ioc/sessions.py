"""The login token, the sessions it opens, and the brake on guessing it.

Pure: every time is passed in (``now``, seconds), so tests need no clock.

The token is made at every start with ``secrets``; only a salted PBKDF2 hash is
kept for checking, compared in constant time. The token text itself exists only
in memory, as the value served by ``P:TOKEN`` to clients allowed to write.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from .access import Level, Who

KDF = "sha256"
KDF_ROUNDS = 100_000
TOKEN_BYTES = 24                 # 32 url-safe characters
FREE_TRIES = 3                   # wrong tokens from one address before the brake
LONGEST_WAIT = 60.0              # s: the brake never holds an address longer


class Token:
    """A fresh random token; ``text`` is handed out once, the hash kept."""

    def __init__(self) -> None:
        self.text = secrets.token_urlsafe(TOKEN_BYTES)
        self._salt = secrets.token_bytes(16)
        self._hash = self._digest(self.text)

    def _digest(self, text: str) -> bytes:
        return hashlib.pbkdf2_hmac(KDF, text.encode(), self._salt, KDF_ROUNDS)

    def matches(self, text: str) -> bool:
        return hmac.compare_digest(self._digest(text.strip()), self._hash)


@dataclass
class Session:
    who: Who
    level: Level
    since: float
    last_seen: float

    def describe(self) -> dict[str, Any]:
        return {"user": self.who.user, "host": self.who.host, "level": self.level.name.lower(),
                "since": round(self.since, 3), "last_seen": round(self.last_seen, 3)}


class Sessions:
    """Open sessions, one per (CA user, real peer address), renewed on use."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._open: dict[Who, Session] = {}
        self.version = 0            # counts every change (open, use, close, end): for P:USERS

    def open(self, who: Who, level: Level, now: float) -> Session:
        session = self._open[who] = Session(who, level, now, now)
        self.version += 1
        return session

    def active(self, who: Who, now: float) -> bool:
        """Whether ``who`` has a live session; using it renews it."""
        session = self._open.get(who)
        if session is None:
            return False
        self.version += 1
        if now - session.last_seen > self.seconds:
            del self._open[who]
            return False
        session.last_seen = now
        return True

    def close(self, who: Who) -> bool:
        self.version += 1
        return self._open.pop(who, None) is not None

    def listing(self, now: float) -> list[dict[str, Any]]:
        self.expire(now)
        return [s.describe() for s in self._open.values()]

    def expire(self, now: float) -> bool:
        """Drop ended sessions; True if any were dropped."""
        ended = [w for w, s in self._open.items() if now - s.last_seen > self.seconds]
        for who in ended:
            del self._open[who]
        self.version += bool(ended)
        return bool(ended)


class TooManyTries(Exception):
    """An address gave wrong tokens too often; it must wait ``seconds``."""

    def __init__(self, seconds: float):
        super().__init__(seconds)
        self.seconds = seconds


class Brake:
    """Slows down guessing: after FREE_TRIES wrong tokens from one address, each
    further try must wait twice as long as the last (up to LONGEST_WAIT)."""

    def __init__(self) -> None:
        self._wrong: dict[str, tuple[int, float]] = {}     # host -> (count, last wrong at)

    def wait(self, host: str, now: float) -> float:
        """Seconds ``host`` must still wait before its token is even checked."""
        count, last = self._wrong.get(host, (0, 0.0))
        if count < FREE_TRIES:
            return 0.0
        hold = min(LONGEST_WAIT, 2.0 ** (count - FREE_TRIES))
        return max(0.0, last + hold - now)

    def check(self, host: str, now: float) -> None:
        left = self.wait(host, now)
        if left > 0:
            raise TooManyTries(left)

    def wrong(self, host: str, now: float) -> int:
        count = self._wrong.get(host, (0, 0.0))[0] + 1
        self._wrong[host] = (count, now)
        return count

    def right(self, host: str) -> None:
        self._wrong.pop(host, None)
