"""When a partition has delivered far enough for an article to be judged canonical, and who
else reads the partitions."""

import redis.asyncio as aioredis

from services.dedupe.partitions import Partitions, delivered_past
from shared.settings import Settings
from shared.streams import DEDUPE_GROUP, keys_for

EARLIER, LATER = "01M7Z0TDY69TT9FMKGHDY6436V", "01M7Z0TDZ21PV3BB4RR29H8W84"


def test_a_partition_that_delivered_everything_holds_nothing_earlier() -> None:
    assert delivered_past("", LATER)


def test_a_partition_that_delivered_a_later_article_holds_nothing_earlier() -> None:
    assert delivered_past(LATER, EARLIER)


def test_a_partition_that_delivered_only_an_earlier_article_may_hold_more() -> None:
    assert not delivered_past(EARLIER, LATER)


def test_a_partition_that_delivered_nothing_yet_may_hold_anything() -> None:
    assert not delivered_past("0", EARLIER)


def _partitions(redis: aioredis.Redis, settings: Settings) -> Partitions:
    return Partitions(redis, keys_for(settings), settings.raw_streams, DEDUPE_GROUP)


async def _read(redis: aioredis.Redis, settings: Settings, consumer: str) -> None:
    await redis.xgroup_create(settings.stream_raw, DEDUPE_GROUP, id="0", mkstream=True)
    await redis.xadd(settings.stream_raw, {"n": "1"})
    await redis.xreadgroup(DEDUPE_GROUP, consumer, {settings.stream_raw: ">"}, count=1)


async def test_nobody_else_reads_a_stream_only_this_consumer_read(
    redis: aioredis.Redis, settings: Settings
) -> None:
    await _read(redis, settings, "me")
    assert not await _partitions(redis, settings).others_reading("me", 60_000)


async def test_another_consumer_that_just_read_is_reading(
    redis: aioredis.Redis, settings: Settings
) -> None:
    await _read(redis, settings, "other")
    assert await _partitions(redis, settings).others_reading("me", 60_000)


async def test_another_consumer_unseen_for_longer_than_the_bound_is_not_reading(
    redis: aioredis.Redis, settings: Settings
) -> None:
    await _read(redis, settings, "other")
    assert not await _partitions(redis, settings).others_reading("me", 0)


async def test_nobody_reads_a_stream_without_a_group(
    redis: aioredis.Redis, settings: Settings
) -> None:
    assert not await _partitions(redis, settings).others_reading("me", 60_000)
