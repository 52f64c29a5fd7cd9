"""Declaring the consumer groups the system depends on, so that none misses an entry.

A group created at ``$`` sees only entries added after it, and the acked-entry trimmer then
removes the earlier ones as needed by nobody: articles accepted before dedupe first started, or
verdicts published before the store first started, would be lost. So every required group
(``shared.streams.required_groups``) is created at ``0``, with its stream, by whichever service
touches the stream first: the producer before it writes its first entry, the consumer before it
reads. Creating a group that exists changes nothing, so every service declares at start-up, and a
group deleted by hand comes back at ``0`` with the next start, its stream's entries read again.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from shared.settings import Settings
from shared.streams import required_groups


async def declare_groups(redis: aioredis.Redis, settings: Settings, streams: Iterable[str]) -> None:
    """Create the required groups of ``streams`` at ``0`` (and the streams), where missing."""
    required = required_groups(settings)
    for stream in streams:
        for group in required.get(stream, ()):
            await declare_group(redis, stream, group)


async def declare_group(redis: aioredis.Redis, stream: str, group: str) -> None:
    """Create ``group`` on ``stream`` at ``0``, and the stream with it; an existing group stays
    where it is."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
