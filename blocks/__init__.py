"""Blocks by name in jobs: ``from scriptserver.blocks import cget, cset, waitfor``.

Runs inside job processes and does Channel Access I/O, so it is not part of the pure
job API (``scriptserver.jobs.api``). genie_python's own ``g.cget``/``g.cset``/``g.waitfor``
work in jobs too where genie_python is installed: nothing here replaces or patches it.
"""
from typing import NewType

from .api import block_names, cget, cset, waitfor
from .names import BlockError, UnknownBlock

Block = NewType("Block", str)
"""Type a command parameter ``Block`` and its argument is checked against the block names
when the job is queued: ``def set_temperature(block: Block, kelvin: float)``."""

__all__ = ["cget", "cset", "waitfor", "block_names", "Block", "BlockError", "UnknownBlock"]
