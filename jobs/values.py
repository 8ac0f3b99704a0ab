"""JSON a client sent, checked to be something the server can keep and show again.

Python's JSON parser accepts text that cannot travel on: lone surrogates
("\\ud800") that no UTF-8 encoder takes, integers too large for SQLite, NaN
and Infinity (not JSON at all for other readers), nesting deep enough to
exhaust the stack. Each is refused here, with words, before anything is queued,
so no accepted value can make a later start, abort or restart fail.
"""
from __future__ import annotations

import math
from typing import Any

from .errors import RequestRefused

LARGEST = 2**63 - 1          # SQLite's INTEGER, and what a LONG-minded client expects


def check_value(data: Any, what: str, max_depth: int) -> None:
    """Refuse ``data`` (decoded JSON) if the server could not store or publish it."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > max_depth:
                raise RequestRefused(f"{what} nests lists/objects more than {max_depth} deep "
                                     "(limits.json_depth); flatten it")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _text(key, what, f"{where}.{key[:20]!r}" if where else repr(key[:20]))
                stack.append((item, depth + 1, f"{where}[{key!r}]"[:80]))
        elif isinstance(value, str):
            _text(value, what, where)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not -LARGEST - 1 <= value <= LARGEST:
                raise RequestRefused(f"{what} has a number too large{_at(where)}: whole numbers "
                                     f"must lie between {-LARGEST - 1} and {LARGEST}")
        elif isinstance(value, float) and not math.isfinite(value):
            raise RequestRefused(f"{what} has {value}{_at(where)}, which is not a number JSON "
                                 "can carry; send a finite number")


def _text(value: str, what: str, where: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        bad = value[err.start:err.end].encode("utf-8", "surrogatepass").hex()
        raise RequestRefused(f"{what} has text that is not valid Unicode{_at(where)}: an unpaired "
                             f"surrogate (\\u{ord(value[err.start]):04x}, bytes {bad}); send "
                             "the character itself or a correct \\u pair") from None
    if "\0" in value:
        raise RequestRefused(f"{what} has a NUL character (\\u0000){_at(where)}, which Channel "
                             "Access text cannot carry; remove it")


def _at(where: str) -> str:
    return f" at {where}" if where else ""
