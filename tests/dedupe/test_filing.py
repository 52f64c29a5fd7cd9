"""The filing order of batches judged at once in one process."""

from __future__ import annotations

import asyncio

from services.dedupe.filing import FilingOrder


async def test_the_first_turn_waits_for_nothing() -> None:
    await asyncio.wait_for(FilingOrder().next().wait(), 1)


async def test_a_turn_waits_until_the_turn_taken_before_it_is_done() -> None:
    order = FilingOrder()
    first, second = order.next(), order.next()
    waiting = asyncio.ensure_future(second.wait())
    done, _ = await asyncio.wait({waiting}, timeout=0.1)
    assert not done
    first.done()
    await asyncio.wait_for(waiting, 1)


async def test_a_turn_waits_for_every_turn_before_it_in_turn() -> None:
    order = FilingOrder()
    first, second, third = order.next(), order.next(), order.next()
    waiting = asyncio.ensure_future(third.wait())
    first.done()
    done, _ = await asyncio.wait({waiting}, timeout=0.1)
    assert not done
    second.done()
    await asyncio.wait_for(waiting, 1)
