"""LSH buckets in Redis: ``band | bucket | id`` members of small sorted sets, read by lex range.

Many small sets in Redis's compact encoding instead of one key per bucket: a member costs about
30 bytes. Sets are filed per generation of the index window, so a whole slice expires as one
key, and spread over ``shards`` keys per generation (by the bucket value), so they stay small and
land on different Redis Cluster slots.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from services.dedupe.window import Window
from shared.ids import id_from_bytes, id_to_bytes

_BAND = struct.Struct(">H")
_ID_BYTES = 16


def bucket_prefix(band: int, bucket: bytes) -> bytes:
    return _BAND.pack(band) + bucket


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
        self._expiring: set[str] = set()  # keys this process already gave an expiry

    def members(
        self, article_id: str, buckets: Sequence[bytes], generation: int
    ) -> Iterable[tuple[str, bytes]]:
        own = id_to_bytes(article_id)
        for band, bucket in enumerate(buckets):
            yield self.key(generation, self._shard(bucket)), bucket_prefix(band, bucket) + own

    async def add(self, article_id: str, buckets: Sequence[bytes], generation: int) -> None:
        members = list(self.members(article_id, buckets, generation))
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, member in members:
                pipe.zadd(key, {member: 0})
                if key not in self._expiring:
                    pipe.pexpireat(key, self.window.generation_expiry_ms(generation))
            await pipe.execute()
        if len(self._expiring) > 4 * self.shards:
            self._expiring.clear()  # older generations' keys; re-setting an expiry is harmless
        self._expiring.update(key for key, _ in members)

    def remove(
        self, pipe: Pipeline, article_id: str, buckets: Sequence[bytes], generation: int
    ) -> None:
        for key, member in self.members(article_id, buckets, generation):
            pipe.zrem(key, member)

    async def sharing(
        self, article_id: str, buckets: Sequence[bytes], now_ms: int, ingest_ms: int
    ) -> list[str]:
        """Ids filed in any of the buckets in a live generation, the article itself excluded."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for generation in self.window.searched(now_ms, ingest_ms):
                for band, bucket in enumerate(buckets):
                    prefix = bucket_prefix(band, bucket)
                    pipe.zrangebylex(
                        self.key(generation, self._shard(bucket)),
                        b"[" + prefix,
                        b"[" + prefix + b"\xff" * _ID_BYTES,
                    )
            replies = await pipe.execute()
        own = id_to_bytes(article_id)
        found = {m[-_ID_BYTES:] for members in replies for m in members if m[-_ID_BYTES:] != own}
        return sorted(id_from_bytes(raw) for raw in found)

    def _shard(self, bucket: bytes) -> int:
        return int.from_bytes(bucket[:4], "big") % self.shards
