"""Long CPU work inside a batch, in turns with the other batches of the process.

A replica judges a batch from every partition at once, on one event loop. Between two of its
round trips to Redis a batch may compute the features of a hundred articles (tens of
milliseconds) while the replies of the other batches wait: each of their protocol steps then
takes that long, and their articles stay contenders (filed, not settled) for all that time,
where every similar article of another batch or replica finds them and has to wait. Handing the
loop back every couple of milliseconds keeps each step's wait for the loop that short.

The work done in turns is the per-article text work, the same for an article however many
replicas share the stream; its CPU time is counted (``TEXT_WORK_CPU``), so the CPU per article
of the rest can be told apart from what the machine itself costs (``benchmarks.scaleout``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from typing import TypeVar

from shared.metrics import TEXT_WORK_CPU

T = TypeVar("T")

TURN_SECONDS = 0.002


async def in_turns(items: Iterable[T], turn_s: float = TURN_SECONDS) -> AsyncIterator[T]:
    """``items``, letting other tasks run whenever ``turn_s`` has passed since they last could;
    the thread's CPU time between handing out an item and being asked for the next counts as
    text work (the loop bodies do not await)."""
    ends = time.perf_counter() + turn_s
    for item in items:
        began = time.thread_time()
        yield item
        TEXT_WORK_CPU.inc(time.thread_time() - began)
        if time.perf_counter() >= ends:
            await asyncio.sleep(0)
            ends = time.perf_counter() + turn_s
