"""LSH buckets in Redis: ``band | bucket | id`` members of small sorted sets, read by lex range.

Many small sets in Redis's compact encoding instead of one key per bucket: a member costs about
30 bytes. Sets are filed per generation of the index window, so a whole slice expires as one
key, and spread over ``shards`` keys per generation (by the bucket value), so they stay small.

An article touches one set per band (37 at the default settings) for each of insert, query and
removal. Those of a whole batch go out as Lua script calls, not one command per band: Redis runs
the commands in microseconds, while a client pays per command sent. On one server that is one
call per batch. On a Redis Cluster a script may only touch keys of one slot, so the sets carry
one of ``BUCKET_SLOTS`` hash tags (by shard) and a batch makes one call per tag.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from services.dedupe.window import Window
from shared.ids import id_from_bytes, id_to_bytes
from shared.redis import Lua, as_bytes, is_cluster
from shared.streams import BUCKET_SLOTS

_BAND = struct.Struct(">H")
_BANDS = [_BAND.pack(band) for band in range(1024)]  # num_perm is at most 1024
_ID_BYTES = 16
# Key names kept per (generations, shard): a few per shard in use; past this many, made afresh.
KEY_CACHE = 1 << 16

# KEYS[i]: a set; ARGV[2i - 1], ARGV[2i]: the member to add to it, and the set's expiry (ms),
# the same for every member of a set (its generation's). A batch puts several members in many
# sets: each set's expiry is written once per call.
_ADD = """
local expiring = {}
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 0, ARGV[2 * i - 1])
  if not expiring[key] then
    redis.call('PEXPIREAT', key, ARGV[2 * i])
    expiring[key] = true
  end
end
return #KEYS
"""

# KEYS[i] / ARGV[i]: a set and the member to remove from it.
_REMOVE = """
for i, key in ipairs(KEYS) do redis.call('ZREM', key, ARGV[i]) end
return #KEYS
"""

# KEYS[i] / ARGV[i]: a set and '[' + a ``band | bucket`` prefix (ZRANGEBYLEX's inclusive lower
# bound). Returns one string: for each key with members under its prefix, the key's position i
# and how many (4 bytes each, big-endian), then their ids (16 bytes each). Most buckets are
# empty: a reply of one array per key made Redis build and the client parse some 20,000 empty
# arrays per batch (1.7 ms of parsing alone).
_SHARING = """
local function u32(x)
  return string.char(math.floor(x / 16777216) % 256, math.floor(x / 65536) % 256,
                     math.floor(x / 256) % 256, x % 256)
end
local out = {}
local pad = string.rep('\\255', 16)
for i, key in ipairs(KEYS) do
  local lo = ARGV[i]
  local members = redis.call('ZRANGEBYLEX', key, lo, lo .. pad)
  local n = #members
  if n > 0 then
    out[#out + 1] = u32(i) .. u32(n)
    for j = 1, n do out[#out + 1] = string.sub(members[j], -16) end
  end
end
return table.concat(out)
"""
_HIT = struct.Struct(">II")


def _hits(reply: bytes) -> Iterator[tuple[int, list[bytes]]]:
    """``_SHARING``'s reply: each key's position (from 0) that had members, and their ids."""
    at = 0
    while at < len(reply):
        position, count = _HIT.unpack_from(reply, at)
        at += _HIT.size
        yield (
            position - 1,
            [reply[k : k + _ID_BYTES] for k in range(at, at + count * _ID_BYTES, _ID_BYTES)],
        )
        at += count * _ID_BYTES


def bucket_prefix(band: int, bucket: bytes) -> bytes:
    return _BANDS[band] + bucket


@dataclass(frozen=True)
class Query:
    """One article's look into the buckets: its id, its band buckets, its ingest time."""

    article_id: str
    buckets: Sequence[bytes]
    ingest_ms: int


@dataclass(frozen=True)
class Placed:
    """One article's members in the sets of one generation."""

    article_id: str
    buckets: Sequence[bytes]
    generation: int


class _Calls:
    """Script arguments gathered per slot tag: one call each."""

    def __init__(self, groups: int) -> None:
        self.groups = groups
        self.keys: dict[int, list[str]] = {}
        self.args: dict[int, list[bytes | int]] = {}
        self.tags: dict[int, list[int]] = {}  # per key, the caller's tag

    def add(
        self, shard: int, keys: Sequence[str], args: tuple[bytes | int, ...], tag: int = 0
    ) -> None:
        """The same ``args`` for each of ``keys``, all of one shard (so of one slot tag)."""
        group = shard % BUCKET_SLOTS % self.groups
        if group not in self.keys:
            self.keys[group], self.args[group], self.tags[group] = [], [], []
        self.keys[group] += keys
        self.args[group] += args * len(keys)
        self.tags[group] += [tag] * len(keys)

    def __iter__(self) -> Iterator[tuple[list[str], list[bytes | int], list[int]]]:
        for group, keys in self.keys.items():
            yield keys, self.args[group], self.tags[group]


class LshBuckets:
    def __init__(
        self,
        redis: aioredis.Redis,
        key: Callable[[int, int], str],
        window: Window,
        shards: int,
    ) -> None:
        self.redis = redis
        self.key = key  # (generation, shard) -> Redis key, tagged by shard % BUCKET_SLOTS
        self.window = window
        self.shards = shards
        self.groups = BUCKET_SLOTS if is_cluster(redis) else 1
        self._keys: dict[tuple[int, int, int], tuple[str, ...]] = {}
        self._add = Lua(redis, _ADD)
        self._remove = Lua(redis, _REMOVE)
        self._sharing = Lua(redis, _SHARING)

    def _sets(self, generations: range, shard: int) -> tuple[str, ...]:
        """The shard's sets in these generations; every article of a batch asks for the same
        few hundred key names many times over, so they are made once."""
        at = (generations.start, generations.stop, shard)
        keys = self._keys.get(at)
        if keys is None:
            if len(self._keys) >= KEY_CACHE:
                self._keys.clear()
            keys = self._keys[at] = tuple(self.key(g, shard) for g in generations)
        return keys

    def _members(self, placed: Placed) -> Iterator[tuple[int, Sequence[str], bytes]]:
        own = id_to_bytes(placed.article_id)
        generation = range(placed.generation, placed.generation + 1)
        for band, bucket in enumerate(placed.buckets):
            shard = self._shard(bucket)
            yield shard, self._sets(generation, shard), bucket_prefix(band, bucket) + own

    async def queue_add(self, pipe: Pipeline, placed: Sequence[Placed]) -> None:
        """Queue the inserts into ``pipe`` (awaiting it only queues the script calls)."""
        calls = _Calls(self.groups)
        for p in placed:
            expiry = self.window.generation_expiry_ms(p.generation)
            for shard, keys, member in self._members(p):
                calls.add(shard, keys, (member, expiry))
        for keys, args, _ in calls:
            await self._add(keys=keys, args=args, client=pipe)

    async def add(self, placed: Sequence[Placed]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            await self.queue_add(pipe, placed)
            await pipe.execute()

    async def remove(self, pipe: Pipeline, placed: Sequence[Placed]) -> None:
        calls = _Calls(self.groups)
        for p in placed:
            for shard, keys, member in self._members(p):
                calls.add(shard, keys, (member,))
        for keys, args, _ in calls:
            await self._remove(keys=keys, args=args, client=pipe)

    async def sharing(
        self, article_id: str, buckets: Sequence[bytes], now_ms: int, ingest_ms: int
    ) -> list[str]:
        """Ids filed in any of the buckets in a live generation, the article itself excluded."""
        [found] = await self.sharing_all([Query(article_id, buckets, ingest_ms)], now_ms)
        return found

    async def sharing_all(self, queries: Sequence[Query], now_ms: int) -> list[list[str]]:
        """``sharing`` for many articles in one round trip."""
        calls = _Calls(self.groups)
        for n, query in enumerate(queries):
            generations = self.window.searched(now_ms, query.ingest_ms)
            for band, bucket in enumerate(query.buckets):
                shard = self._shard(bucket)
                prefix = b"[" + bucket_prefix(band, bucket)
                calls.add(shard, self._sets(generations, shard), (prefix,), n)
        gathered = list(calls)
        async with self.redis.pipeline(transaction=False) as pipe:
            for keys, args, _ in gathered:
                await self._sharing(keys=keys, args=args, client=pipe)
            replies = await pipe.execute()
        found: list[set[bytes]] = [set() for _ in queries]
        for (_, _, tags), reply in zip(gathered, replies, strict=True):
            for position, hit in _hits(as_bytes(reply)):
                found[tags[position]].update(hit)
        result = []
        for query, raw_ids in zip(queries, found, strict=True):
            raw_ids.discard(id_to_bytes(query.article_id))
            result.append(sorted(id_from_bytes(raw) for raw in raw_ids))
        return result

    def _shard(self, bucket: bytes) -> int:
        return int.from_bytes(bucket[:4], "big") % self.shards
