"""Trimming on a real Redis: below every group's acked position, never past unread entries."""

from __future__ import annotations

import redis.asyncio as aioredis

from shared.settings import Settings
from shared.trimming import AckedTrimmer

NOW = 10_000_000


async def _fill(redis: aioredis.Redis, stream: str, count: int) -> list[str]:
    """Entries stamped 1..count ms, long before NOW."""
    return [(await redis.xadd(stream, {"n": n}, id=f"{n}-0")).decode() for n in range(1, count + 1)]


async def _consume(redis: aioredis.Redis, stream: str, group: str, count: int, ack: int) -> None:
    """Deliver ``count`` entries to ``group`` and ack the first ``ack`` of them."""
    reply = await redis.xreadgroup(group, "c", {stream: ">"}, count=count)
    ids = [mid for _, entries in reply for mid, _ in entries][:ack]
    if ids:
        await redis.xack(stream, group, *ids)


async def _ids(redis: aioredis.Redis, stream: str) -> list[str]:
    return [mid.decode() for mid, _ in await redis.xrange(stream)]


async def test_entries_every_group_acked_are_removed(
    redis: aioredis.Redis, settings: Settings
) -> None:
    stream = settings.stream_raw
    await _fill(redis, stream, 6)
    await redis.xgroup_create(stream, "g", id="0")
    await _consume(redis, stream, "g", count=6, ack=6)
    await AckedTrimmer(redis).trim(stream, retain_ms=0, now_ms=NOW)
    assert await _ids(redis, stream) == ["6-0"]  # the last delivered entry marks the position


async def test_a_pending_entry_and_all_after_it_are_kept(
    redis: aioredis.Redis, settings: Settings
) -> None:
    stream = settings.stream_raw
    await _fill(redis, stream, 6)
    await redis.xgroup_create(stream, "g", id="0")
    await _consume(redis, stream, "g", count=6, ack=2)  # 3..6 delivered, not acked
    removed = await AckedTrimmer(redis).trim(stream, retain_ms=0, now_ms=NOW)
    assert (removed, await _ids(redis, stream)) == (2, ["3-0", "4-0", "5-0", "6-0"])


async def test_the_slowest_group_decides(redis: aioredis.Redis, settings: Settings) -> None:
    stream = settings.stream_raw
    await _fill(redis, stream, 6)
    await redis.xgroup_create(stream, "fast", id="0")
    await redis.xgroup_create(stream, "slow", id="0")
    await _consume(redis, stream, "fast", count=6, ack=6)
    await _consume(redis, stream, "slow", count=4, ack=4)  # 5 and 6 never read by "slow"
    await AckedTrimmer(redis).trim(stream, retain_ms=0, now_ms=NOW)
    assert await _ids(redis, stream) == ["4-0", "5-0", "6-0"]


async def test_a_group_that_read_nothing_keeps_everything(
    redis: aioredis.Redis, settings: Settings
) -> None:
    stream = settings.stream_raw
    await _fill(redis, stream, 3)
    await redis.xgroup_create(stream, "idle", id="0")
    assert await AckedTrimmer(redis).trim(stream, retain_ms=0, now_ms=NOW) == 0
    assert len(await _ids(redis, stream)) == 3


async def test_the_retention_window_is_kept_although_acked(
    redis: aioredis.Redis, settings: Settings
) -> None:
    stream = settings.stream_raw
    await _fill(redis, stream, 6)
    await redis.xgroup_create(stream, "g", id="0")
    await _consume(redis, stream, "g", count=6, ack=6)
    await AckedTrimmer(redis).trim(stream, retain_ms=NOW - 3, now_ms=NOW)  # keep from 3 ms on
    assert await _ids(redis, stream) == ["3-0", "4-0", "5-0", "6-0"]


async def test_a_stream_without_groups_is_left_alone(
    redis: aioredis.Redis, settings: Settings
) -> None:
    stream = settings.stream_raw
    await _fill(redis, stream, 3)
    assert await AckedTrimmer(redis).trim(stream, retain_ms=0, now_ms=NOW) == 0
    assert await AckedTrimmer(redis).trim("no-such-stream", retain_ms=0, now_ms=NOW) == 0
    assert len(await _ids(redis, stream)) == 3


async def test_while_a_required_group_is_missing_nothing_is_trimmed(
    redis: aioredis.Redis, settings: Settings
) -> None:
    # A user's group read everything; dedupe's group is not there (yet, or deleted by hand).
    stream = settings.stream_raw
    await _fill(redis, stream, 4)
    await redis.xgroup_create(stream, "users-tail", id="0")
    await _consume(redis, stream, "users-tail", count=4, ack=4)
    trimmer = AckedTrimmer(redis)
    assert await trimmer.trim(stream, retain_ms=0, now_ms=NOW, required=["dedupe"]) == 0
    assert len(await _ids(redis, stream)) == 4
    await redis.xgroup_create(stream, "dedupe", id="0")
    await _consume(redis, stream, "dedupe", count=4, ack=4)
    assert await trimmer.trim(stream, retain_ms=0, now_ms=NOW, required=["dedupe"]) == 3
    assert await _ids(redis, stream) == ["4-0"]
