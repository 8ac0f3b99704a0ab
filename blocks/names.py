"""Block names as IBEX publishes them, and the PV behind each block.

The block server publishes the current configuration's block names in
``$(MYPVPREFIX)CS:BLOCKSERVER:BLOCKNAMES``: a CHAR waveform holding a JSON list,
zlib-compressed and hex-encoded. A block ``temp1`` is then the gateway alias
``$(MYPVPREFIX)CS:SB:TEMP1`` (genie_python upper-cases the name), with its setpoint at
``...:SP`` when the block has one.
"""
from __future__ import annotations

import difflib
import json
import os
from typing import Any

from ibex_non_ca_helpers.compress_hex import dehex_and_decompress

BLOCK_NAMES_PV = "CS:BLOCKSERVER:BLOCKNAMES"
BLOCK_PREFIX = "CS:SB:"
SETPOINT = ":SP"


class BlockError(Exception):
    """A block cannot be used as asked; the message says why and what to do."""


class UnknownBlock(BlockError, NameError):
    """No block of that name exists in the current configuration."""

    def __init__(self, name: str, known: list[str] | None):
        self.name, self.known = name, known
        super().__init__(unknown_block_message(name, known))


def unknown_block_message(name: str, known: list[str] | None) -> str:
    """e.g. "no block named 'TEMP_1'; did you mean 'TEMP1'?"."""
    text = f"no block named {name!r}"
    if known is None:
        return text + " (the block server's list of blocks could not be read)"
    by_upper = {k.upper(): k for k in known}
    close = difflib.get_close_matches(name.upper(), list(by_upper), n=1, cutoff=0.6)
    if close:
        return f"{text}; did you mean {by_upper[close[0]]!r}?"
    if not known:
        return text + "; the current configuration has no blocks"
    return f"{text}; the blocks are {', '.join(sorted(known))}"


def instrument_prefix() -> str:
    """The instrument's PV prefix (IBEX's ``MYPVPREFIX``, e.g. ``IN:LARMOR:``)."""
    prefix = os.environ.get("MYPVPREFIX", "")
    if not prefix:
        raise BlockError("MYPVPREFIX is not set: blocks are found under the instrument's "
                         "prefix, e.g. MYPVPREFIX=IN:LARMOR: (IBEX sets it for its IOCs)")
    return prefix


def block_pv(name: str, prefix: str | None = None) -> str:
    """The gateway PV of a block, as genie_python names it."""
    return (prefix if prefix is not None else instrument_prefix()) + BLOCK_PREFIX + name.upper()


def decode_block_names(raw: Any) -> list[str]:
    """The block names from BLOCKNAMES' value (hex text or its bytes, NUL-padded)."""
    data = raw.encode() if isinstance(raw, str) else bytes(raw)
    names = json.loads(dehex_and_decompress(data.split(b"\0")[0].strip()))
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"BLOCKNAMES holds {type(names).__name__}, not a list of names")
    return names
