"""Group consumption through FastStream on a real Redis: acks, retries and the dead stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import BaseModel

from shared.broker import make_broker
from shared.consumer import Delivery, GroupConsumer, reclaim_poll_ms
from shared.models import DeadLetter
from shared.settings import Settings
from shared.streams import STORE_GROUP, decode, encode
from tests.waiting import eventually

Run = Callable[..., Awaitable[GroupConsumer[Any]]]

# The raw stream is read as dedupe reads it: no entry is trimmed while its group is missing.
GROUP = STORE_GROUP


class Item(BaseModel):
    n: int


class Recorder:
    """Handles items, failing on the ones it is told to; acks what it handled."""

    def __init__(self, redis: aioredis.Redis, failing: set[int], outages: int = 0) -> None:
        self.redis = redis
        self.failing = failing
        self.outages = outages  # this many first attempts fail as if the database were down
        self.handled: list[int] = []
        self.attempts: dict[int, int] = {}

    async def handle(self, deliveries: Sequence[Delivery[Item]]) -> None:
        if self.outages:
            self.outages -= 1
            raise ConnectionRefusedError("database unreachable")
        for d in deliveries:
            self.attempts[d.item.n] = self.attempts.get(d.item.n, 0) + 1
            if d.item.n in self.failing:
                raise RuntimeError(f"cannot handle {d.item.n}")
        for d in deliveries:
            self.handled.append(d.item.n)
            await self.redis.xack(d.stream, d.group, d.message_id)


@pytest.fixture
async def run(redis: aioredis.Redis, settings: Settings) -> AsyncIterator[Run]:
    brokers = []

    async def start(recorder: Recorder, **overrides: object) -> GroupConsumer[Item]:
        configured = settings.model_copy(update={"max_deliveries": 3, **overrides})
        assert configured.redis_url
        broker = make_broker(configured.redis_url)
        consumer = GroupConsumer(
            redis=redis, settings=configured, stream=settings.stream_canonical, group=GROUP,
            model=Item, handler=recorder.handle,
        )  # fmt: skip
        consumer.register(broker)
        await broker.start()
        brokers.append((broker, consumer))
        return consumer

    yield start
    for broker, consumer in brokers:
        await broker.stop()
        await asyncio.wait_for(consumer.drain(), 10)  # a batch still held fails the test


async def _dead(redis: aioredis.Redis, settings: Settings) -> list[DeadLetter]:
    return [decode(DeadLetter, f) for _, f in await redis.xrange(settings.stream_dead)]


async def _pending(redis: aioredis.Redis, settings: Settings) -> int:
    return int((await redis.xpending(settings.stream_canonical, GROUP))["pending"])


async def test_every_good_entry_is_handled_once_and_acked(
    redis: aioredis.Redis, settings: Settings, run: Run
) -> None:
    recorder = Recorder(redis, failing=set())
    await run(recorder)
    for n in range(20):
        await redis.xadd(settings.stream_canonical, encode(Item(n=n)))
    await eventually(
        lambda: _pending(redis, settings), lambda p: p == 0 and len(recorder.handled) == 20
    )
    assert sorted(recorder.handled) == list(range(20))


async def test_an_unparseable_entry_goes_to_the_dead_stream_at_once(
    redis: aioredis.Redis, settings: Settings, run: Run
) -> None:
    recorder = Recorder(redis, failing=set())
    await run(recorder)
    await redis.xadd(settings.stream_canonical, {"__data__": b'{"n": "not a number"}'})
    await redis.xadd(settings.stream_canonical, encode(Item(n=1)))
    [letter] = await eventually(lambda: _dead(redis, settings), lambda d: len(d) == 1)
    assert letter.deliveries == 1
    assert "invalid payload" in letter.error
    assert letter.payload == '{"n": "not a number"}'
    await eventually(lambda: _pending(redis, settings), lambda p: p == 0)
    assert recorder.handled == [1]


async def test_a_failing_entry_does_not_hold_back_its_batch(
    redis: aioredis.Redis, settings: Settings, run: Run
) -> None:
    recorder = Recorder(redis, failing={3})
    await run(recorder)
    for n in range(6):
        await redis.xadd(settings.stream_canonical, encode(Item(n=n)))
    await eventually(lambda: _pending(redis, settings), lambda p: len(recorder.handled) == 5)
    assert sorted(recorder.handled) == [0, 1, 2, 4, 5]


async def test_an_entry_failing_every_delivery_is_dead_lettered_with_its_error(
    redis: aioredis.Redis, settings: Settings, run: Run
) -> None:
    recorder = Recorder(redis, failing={7})
    await run(recorder)
    await redis.xadd(settings.stream_canonical, encode(Item(n=7)))
    [letter] = await eventually(lambda: _dead(redis, settings), lambda d: len(d) == 1)
    assert (letter.deliveries, letter.stream, letter.group) == (3, settings.stream_canonical, GROUP)
    assert "cannot handle 7" in letter.error
    assert recorder.attempts[7] == 3
    assert await _pending(redis, settings) == 0


async def test_an_entry_left_by_a_dead_consumer_is_claimed_and_handled(
    redis: aioredis.Redis, settings: Settings, run: Run
) -> None:
    await redis.xgroup_create(settings.stream_canonical, GROUP, id="0", mkstream=True)
    await redis.xadd(settings.stream_canonical, encode(Item(n=9)))
    await redis.xreadgroup(GROUP, "crashed-consumer", {settings.stream_canonical: ">"})
    recorder = Recorder(redis, failing=set())
    await run(recorder)
    await eventually(lambda: _pending(redis, settings), lambda p: p == 0)
    assert recorder.handled == [9]


async def test_an_outage_is_retried_in_place_and_never_dead_letters(
    redis: aioredis.Redis, settings: Settings, run: Run
) -> None:
    recorder = Recorder(redis, failing=set(), outages=6)  # more than max_deliveries (3)
    await run(recorder)
    await redis.xadd(settings.stream_canonical, encode(Item(n=4)))
    await eventually(lambda: _pending(redis, settings), lambda p: recorder.handled == [4])
    assert (recorder.outages, await _pending(redis, settings)) == (0, 0)
    assert await _dead(redis, settings) == []


async def test_the_stream_is_trimmed_below_what_the_group_acked(
    redis: aioredis.Redis, settings: Settings, run: Run
) -> None:
    await redis.xgroup_create(settings.stream_canonical, GROUP, id="0", mkstream=True)
    for n in range(5):
        await redis.xadd(settings.stream_canonical, encode(Item(n=n)))
    recorder = Recorder(redis, failing=set())
    await run(recorder)
    await eventually(lambda: _pending(redis, settings), lambda p: len(recorder.handled) == 5)
    # The first batch (all five) trims; with no retention only the last delivered entry stays.
    assert await eventually(lambda: redis.xlen(settings.stream_canonical), lambda n: n <= 1) <= 1


async def test_a_burst_handled_soon_after_a_trim_is_trimmed_too(
    redis: aioredis.Redis, settings: Settings, run: Run
) -> None:
    # Ingest counts the raw stream's length as backlog: a burst left standing until some later
    # batch would have it refuse articles with nothing left to do.
    await redis.xgroup_create(settings.stream_canonical, GROUP, id="0", mkstream=True)
    recorder = Recorder(redis, failing=set())
    await run(recorder)
    for burst in range(2):
        for n in range(5):
            await redis.xadd(settings.stream_canonical, encode(Item(n=burst * 5 + n)))
        handled = 5 * (burst + 1)
        await eventually(lambda: _pending(redis, settings),
                         lambda _, want=handled: len(recorder.handled) == want)  # fmt: skip
        length = await eventually(lambda: redis.xlen(settings.stream_canonical), lambda n: n <= 1)
        assert length <= 1


async def test_draining_handles_in_order_what_a_read_cut_short_delivered_and_no_handler_took(
    redis: aioredis.Redis, settings: Settings
) -> None:
    # Stopping cancels a read that Redis may already have answered: its entries are pending for
    # this consumer. Entry 2 failed before, and stays pending for a retry that counts it.
    recorder = Recorder(redis, failing=set())
    consumer = GroupConsumer(
        redis=redis, settings=settings.model_copy(update={"batch_size": 2}),
        stream=settings.stream_canonical, group=GROUP, model=Item, handler=recorder.handle,
    )  # fmt: skip
    await redis.xgroup_create(settings.stream_canonical, GROUP, id="0", mkstream=True)
    ids = [await redis.xadd(settings.stream_canonical, encode(Item(n=n))) for n in range(5)]
    await redis.xreadgroup(GROUP, settings.consumer_name, {settings.stream_canonical: ">"})
    await redis.set(consumer.keys.last_error(GROUP, ids[2].decode()), "RuntimeError('boom')")
    await consumer.drain()
    assert recorder.handled == [0, 1, 3, 4]
    pending = await redis.xpending_range(settings.stream_canonical, GROUP, "-", "+", 10)
    assert [p["message_id"] for p in pending] == [ids[2]]


def test_abandoned_entries_are_looked_for_every_quarter_claim_idle_time_within_bounds() -> None:
    assert [reclaim_poll_ms(ms) for ms in (10, 2_000, 30_000, 600_000)] == [100, 500, 5_000, 5_000]
