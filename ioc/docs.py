"""Keeps README's generated parts in step with the code's own tables.

``python -m scriptserver.ioc.docs README.md`` rewrites the text between the
``<!-- generated: NAME -->`` and ``<!-- end: NAME -->`` markers; a test fails
when README differs from what this would write.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from scriptserver.jobs.states import diagrams

from . import limits
from .ibex import blocks_table, interest_table
from .ibexenv import macros_table
from .pvs import markdown_table

SECTIONS = {"pv-table": markdown_table, "state-diagrams": diagrams,
            "ibex-blocks": blocks_table, "ibex-interest": interest_table,
            "ibex-macros": macros_table, "limits-table": limits.markdown_table}


def render(text: str) -> str:
    for name, make in SECTIONS.items():
        pattern = re.compile(rf"(<!-- generated: {name} -->\n).*?(<!-- end: {name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README has no '{name}' section markers")
        text = pattern.sub(lambda m: m[1] + make().rstrip("\n") + "\n" + m[2], text)
    return text


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    path.write_text(render(path.read_text()))


if __name__ == "__main__":
    main()
