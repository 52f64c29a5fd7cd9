"""Batches of one process file in the order they were read.

A replica judges a batch while the next one computes its features, so the CPU work of one
overlaps the other's Redis round trips. The protocol lets any two articles in flight at once
agree, but which of two copies is canonical must still follow ingest order: a later copy has to
see the earlier one. Between replicas a settle grace and a second look see to that (an earlier
copy another replica holds may not be filed yet). Within a process, order is known: a batch
files only after every batch read before it has filed, so a copy read later always finds the
earlier one in the index, as if the batches ran one after the other, and no grace is needed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True)
class Turn:
    """One batch's place in the filing order."""

    before: asyncio.Future[None] | None
    mine: asyncio.Future[None]

    async def wait(self) -> None:
        """Until every batch read before this one has filed (or given up)."""
        if self.before is not None:
            await self.before

    def done(self) -> None:
        """This batch filed, or failed before it could: the next one may file."""
        if not self.mine.done():
            self.mine.set_result(None)


class FilingOrder:
    def __init__(self) -> None:
        self._last: asyncio.Future[None] | None = None

    def next(self) -> Turn:
        """A turn after every turn taken before; take it as the batch is read, before any
        await, so turns follow the order the batches were read in."""
        turn = Turn(self._last, asyncio.get_running_loop().create_future())
        self._last = turn.mine
        return turn
