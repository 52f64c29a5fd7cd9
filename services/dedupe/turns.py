"""Long CPU work inside a batch, in turns with the other batches of the process.

A replica judges a batch from every partition at once, on one event loop. Between two of its
round trips to Redis a batch may compute the features of a hundred articles (tens of
milliseconds) while the replies of the other batches wait: each of their protocol steps then
takes that long, and their articles stay contenders (filed, not settled) for all that time,
where every similar article of another batch or replica finds them and has to wait. Handing the
loop back every couple of milliseconds keeps each step's wait for the loop that short.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from typing import TypeVar

T = TypeVar("T")

TURN_SECONDS = 0.002


async def in_turns(items: Iterable[T], turn_s: float = TURN_SECONDS) -> AsyncIterator[T]:
    """``items``, letting other tasks run whenever ``turn_s`` has passed since they last could."""
    ends = time.perf_counter() + turn_s
    for item in items:
        yield item
        if time.perf_counter() >= ends:
            await asyncio.sleep(0)
            ends = time.perf_counter() + turn_s
