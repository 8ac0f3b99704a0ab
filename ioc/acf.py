"""The part of the EPICS access security file (.acf) that sites use for rights.

Supported: ``UAG(name) {user, ...}``, ``HAG(name) {host, ...}`` and
``ASG(name) { RULE(level, NONE|READ|WRITE[, TRAPWRITE|NOTRAPWRITE]) [{UAG(..) HAG(..)}] }``.
One ASG (``DEFAULT`` unless configured) becomes the rules. The record access
level maps to ours: ``RULE(0, WRITE)`` gives *operate*, ``RULE(1, WRITE)``
*manage* (level-1 PVs are clear, reload and queue mode), ``READ`` gives *read*.
``INP``/``CALC`` rules cannot be honoured here and are refused, not ignored.

Host names in a HAG are resolved by the ``resolve`` function given (config does
that at start), so the decision compares addresses, never claimed names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from .access import Level, Network, Rule, networks

TOKENS = re.compile(r'\s*(?:(#[^\n]*)|("(?:[^"\\]|\\.)*")|([A-Za-z0-9_.:/\-+*$]+)|(\S))')
ANYWHERE = networks(["0.0.0.0/0", "::/0"])


class AcfError(ValueError):
    """The .acf text has a mistake; ``mistakes`` has one line each."""

    def __init__(self, mistakes: list[str]):
        super().__init__("\n".join(mistakes))
        self.mistakes = mistakes


@dataclass
class AcfRule:
    asl: int
    access: str                        # NONE, READ or WRITE
    uags: list[str] = field(default_factory=list)
    hags: list[str] = field(default_factory=list)


@dataclass
class Acf:
    uags: dict[str, list[str]] = field(default_factory=dict)
    hags: dict[str, list[str]] = field(default_factory=dict)
    asgs: dict[str, list[AcfRule]] = field(default_factory=dict)


def tokenize(text: str) -> list[tuple[str, int]]:
    """(token, line) pairs; comments dropped, quotes removed."""
    tokens, line, pos = [], 1, 0
    while pos < len(text):
        match = TOKENS.match(text, pos)
        if match is None or match.end() == pos:
            break
        line += text.count("\n", pos, match.start(match.lastindex or 0))
        comment, quoted, word, mark = match.groups()
        if quoted is not None:
            tokens.append((quoted[1:-1], line))
        elif word is not None or mark is not None:
            tokens.append((word or mark, line))
        line += text.count("\n", match.start(match.lastindex or 0), match.end())
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def line(self) -> int:
        return self.tokens[min(self.i, len(self.tokens) - 1)][1] if self.tokens else 1

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None:
            raise AcfError([f"line {self.line()}: the file ends early"
                            + (f"; expected {expected!r}" if expected else "")])
        if expected is not None and token != expected:
            raise AcfError([f"line {self.line()}: expected {expected!r}, found {token!r}"])
        self.i += 1
        return token

    def names(self, close: str) -> list[str]:
        """name, name, ... up to ``close``."""
        items: list[str] = []
        while self.peek() != close:
            items.append(self.take())
            if self.peek() == ",":
                self.take(",")
        self.take(close)
        return items

    def parse(self) -> Acf:
        acf = Acf()
        while self.peek() is not None:
            keyword = self.take()
            self.take("(")
            name, = self.names(")") or [""]
            if keyword in ("UAG", "HAG"):
                self.take("{")
                (acf.uags if keyword == "UAG" else acf.hags)[name] = self.names("}")
            elif keyword == "ASG":
                acf.asgs[name] = self.group()
            else:
                raise AcfError([f"line {self.line()}: {keyword!r} is not UAG, HAG or ASG"])
        return acf

    def group(self) -> list[AcfRule]:
        rules: list[AcfRule] = []
        self.take("{")
        while self.peek() != "}":
            start = self.line()
            keyword = self.take()
            if keyword != "RULE":
                raise AcfError([f"line {self.line()}: {keyword!r} is not supported here "
                                "(only RULE: INP and CALC cannot be honoured by this server)"])
            self.take("(")
            args = self.names(")")
            if len(args) < 2 or not args[0].isdigit() or args[1] not in ("NONE", "READ", "WRITE"):
                raise AcfError([f"line {start}: RULE must be RULE(level, READ|WRITE), "
                                f"not RULE({', '.join(args)})"])
            rule = AcfRule(int(args[0]), args[1])
            if self.peek() == "{":
                self.take("{")
                while self.peek() != "}":
                    kind = self.take()
                    if kind not in ("UAG", "HAG"):
                        raise AcfError([f"line {self.line()}: {kind!r} in a RULE is not "
                                        "supported (only UAG and HAG)"])
                    self.take("(")
                    (rule.uags if kind == "UAG" else rule.hags).extend(self.names(")"))
                self.take("}")
            rules.append(rule)
        self.take("}")
        return rules


def parse(text: str) -> Acf:
    return _Parser(text).parse()


def rules(acf: Acf, group: str, resolve: Callable[[str], list[str]]) -> list[Rule]:
    """The rules of one ASG; ``resolve`` turns a HAG host (name or address) into addresses."""
    if group not in acf.asgs:
        raise AcfError([f"there is no ASG({group}); the file has: {', '.join(acf.asgs) or 'none'}"])
    mistakes: list[str] = []
    result: list[Rule] = []
    for rule in acf.asgs[group]:
        if rule.access == "NONE":
            continue
        level = (Level.READ if rule.access == "READ"
                 else Level.MANAGE if rule.asl >= 1 else Level.OPERATE)
        users = None
        if rule.uags:
            missing = [u for u in rule.uags if u not in acf.uags]
            mistakes += [f"ASG({group}) names UAG({u}), which is not defined" for u in missing]
            users = frozenset(user for u in rule.uags for user in acf.uags.get(u, []))
        hosts: tuple[Network, ...] = ANYWHERE
        if rule.hags:
            mistakes += [f"ASG({group}) names HAG({h}), which is not defined"
                         for h in rule.hags if h not in acf.hags]
            found: list[str] = []
            for host in (h for hag in rule.hags for h in acf.hags.get(hag, [])):
                try:
                    found += resolve(host)
                except ValueError as err:
                    mistakes.append(str(err))
            hosts = networks(found)
        result.append(Rule(hosts, level, users))
    if mistakes:
        raise AcfError(mistakes)
    return result
