"""Blocks by name in jobs: ``from scriptserver.blocks import cget, cset, waitfor``.

Runs inside job processes and does Channel Access I/O, so it is not part of the pure
job API (``scriptserver.jobs.api``). genie_python's own ``g.cget``/``g.cset``/``g.waitfor``
work in jobs too where genie_python is installed: nothing here replaces or patches it.
"""
from .api import block_names, cget, cset, waitfor
from .names import BlockError, UnknownBlock

__all__ = ["cget", "cset", "waitfor", "block_names", "BlockError", "UnknownBlock"]
