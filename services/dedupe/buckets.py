"""LSH buckets in Redis: ``band | bucket | id`` members of small sorted sets, read by lex range.

Many small sets in Redis's compact encoding instead of one key per bucket: a member costs about
30 bytes. Sets are filed per generation of the index window, so a whole slice expires as one
key, and spread over ``shards`` keys per generation (by the bucket value), so they stay small.

An article touches one set per band (37 at the default settings) for each of insert, query and
removal. Each of those is one Lua script call over all its sets rather than one command per band:
Redis runs the 37 commands in microseconds, while a client pays per command sent.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from services.dedupe.window import Window
from shared.ids import id_from_bytes, id_to_bytes

_BAND = struct.Struct(">H")
_ID_BYTES = 16

# KEYS: a set per band; ARGV[1]: the sets' expiry (ms), ARGV[1 + i]: the member for KEYS[i].
_ADD = """
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 0, ARGV[i + 1])
  redis.call('PEXPIREAT', key, ARGV[1])
end
return #KEYS
"""

# KEYS[i] / ARGV[i]: a set and the member to remove from it.
_REMOVE = """
for i, key in ipairs(KEYS) do redis.call('ZREM', key, ARGV[i]) end
return #KEYS
"""

# KEYS[i] / ARGV[i]: a set and a ``band | bucket`` prefix; the ids of all members under it.
_SHARING = """
local found = {}
for i, key in ipairs(KEYS) do
  local lo = '[' .. ARGV[i]
  local hi = lo .. string.rep('\\255', 16)
  for _, member in ipairs(redis.call('ZRANGEBYLEX', key, lo, hi)) do
    found[#found + 1] = string.sub(member, -16)
  end
end
return found
"""


def bucket_prefix(band: int, bucket: bytes) -> bytes:
    return _BAND.pack(band) + bucket


@dataclass(frozen=True)
class Query:
    """One article's look into the buckets: its id, its band buckets, its ingest time."""

    article_id: str
    buckets: Sequence[bytes]
    ingest_ms: int


class LshBuckets:
    def __init__(
        self,
        redis: aioredis.Redis,
        key: Callable[[int, int], str],
        window: Window,
        shards: int,
    ) -> None:
        self.redis = redis
        self.key = key  # (generation, shard) -> Redis key
        self.window = window
        self.shards = shards
        self._add = redis.register_script(_ADD)
        self._remove = redis.register_script(_REMOVE)
        self._sharing = redis.register_script(_SHARING)

    def _keys_members(
        self, article_id: str, buckets: Sequence[bytes], generation: int
    ) -> tuple[list[str], list[bytes]]:
        own = id_to_bytes(article_id)
        keys = [self.key(generation, self._shard(bucket)) for bucket in buckets]
        members = [bucket_prefix(band, bucket) + own for band, bucket in enumerate(buckets)]
        return keys, members

    async def queue_add(
        self, pipe: Pipeline, article_id: str, buckets: Sequence[bytes], generation: int
    ) -> None:
        """Queue the insert into ``pipe`` (awaiting it only queues the script call)."""
        keys, members = self._keys_members(article_id, buckets, generation)
        expiry = self.window.generation_expiry_ms(generation)
        await self._add(keys=keys, args=[expiry, *members], client=pipe)

    async def add(self, article_id: str, buckets: Sequence[bytes], generation: int) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            await self.queue_add(pipe, article_id, buckets, generation)
            await pipe.execute()

    async def remove(
        self, pipe: Pipeline, article_id: str, buckets: Sequence[bytes], generation: int
    ) -> None:
        keys, members = self._keys_members(article_id, buckets, generation)
        await self._remove(keys=keys, args=members, client=pipe)

    async def sharing(
        self, article_id: str, buckets: Sequence[bytes], now_ms: int, ingest_ms: int
    ) -> list[str]:
        """Ids filed in any of the buckets in a live generation, the article itself excluded."""
        [found] = await self.sharing_all([Query(article_id, buckets, ingest_ms)], now_ms)
        return found

    async def sharing_all(self, queries: Sequence[Query], now_ms: int) -> list[list[str]]:
        """``sharing`` for many articles in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for query in queries:
                shards = [self._shard(bucket) for bucket in query.buckets]
                prefixes = [bucket_prefix(band, b) for band, b in enumerate(query.buckets)]
                generations = self.window.searched(now_ms, query.ingest_ms)
                keys = [self.key(g, shard) for g in generations for shard in shards]
                await self._sharing(keys=keys, args=prefixes * len(generations), client=pipe)
            replies = await pipe.execute()
        found = []
        for query, raw_ids in zip(queries, replies, strict=True):
            own = id_to_bytes(query.article_id)
            ids = {raw for raw in raw_ids if raw != own}
            found.append(sorted(id_from_bytes(raw) for raw in ids))
        return found

    def _shard(self, bucket: bytes) -> int:
        return int.from_bytes(bucket[:4], "big") % self.shards
