"""Comment tags: pause points and progress for scripts that import nothing.

A line holding only ``# pause`` is a pause point; ``# progress 3/10`` (or
``# progress 30%``) reports progress. The tags are turned into calls before the
script is compiled; line numbers stay the same.
"""
from __future__ import annotations

import re

from .calls import calls_any, parse_or_none

PAUSE_TAG = re.compile(r"^(\s*)#\s*pause\s*$", re.IGNORECASE)
PROGRESS_TAG = re.compile(r"^(\s*)#\s*progress\s+(\d+(?:\.\d+)?)\s*(?:/\s*(\d+(?:\.\d+)?)|(%))\s*$",
                          re.IGNORECASE)
API_NAMES = ("pause_point",)


def rewrite(source: str) -> str:
    """The script with its comment tags turned into job API calls."""
    out = []
    for line in source.splitlines():
        if m := PAUSE_TAG.match(line):
            line = f"{m[1]}__import__('scriptserver.jobs.api').jobs.api.pause_point()"
        elif m := PROGRESS_TAG.match(line):
            done, total = (float(m[2]) / 100, None) if m[4] else (float(m[2]), float(m[3]))
            line = f"{m[1]}__import__('scriptserver.jobs.api').jobs.api.progress({done}, {total})"
        out.append(line)
    return "\n".join(out) + "\n"


def has_pause_points(source: str) -> bool:
    """Whether a script can pause at a safe place: a '# pause' tag, or a real call of
    pause_point (found with ast: a comment or string mentioning it does not count)."""
    if any(PAUSE_TAG.match(line) for line in source.splitlines()):
        return True
    tree = parse_or_none(source)
    return tree is not None and calls_any(tree, API_NAMES)
