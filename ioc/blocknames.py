"""The block server's current block names, followed for job validation.

Reads ``$(MYPVPREFIX)CS:BLOCKSERVER:BLOCKNAMES`` every few seconds (in a worker
thread: a missing block server costs a read timeout, never the event loop). While
there is no ``MYPVPREFIX`` or no answer, the names are unknown and scripts are not
checked for them: the check helps where IBEX runs, and is silent where it does not.
"""
from __future__ import annotations

import asyncio
import logging

from scriptserver.blocks.api import block_names
from scriptserver.blocks.names import BLOCK_NAMES_PV, BlockError, instrument_prefix

log = logging.getLogger(__name__)

POLL = 2.0          # s between reads of BLOCKNAMES


class BlockNames:
    def __init__(self) -> None:
        self.names: list[str] | None = None      # None: unknown (no block server answered)
        self._task: asyncio.Task | None = None

    def current(self) -> list[str] | None:
        return self.names

    def start(self) -> None:
        try:
            self.pv = instrument_prefix() + BLOCK_NAMES_PV
        except BlockError:
            return                                # not on an IBEX instrument: nothing to follow
        self._task = asyncio.get_running_loop().create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            try:
                names = await asyncio.to_thread(block_names)
            except Exception as err:  # noqa: BLE001 - no block server now: try again later
                if self.names is not None:
                    log.warning("block names from %s unavailable: %s", self.pv, err)
                self.names = None
            else:
                if names != self.names:
                    log.info("blocks: %s", ", ".join(names) or "none")
                self.names = names
            await asyncio.sleep(POLL)
