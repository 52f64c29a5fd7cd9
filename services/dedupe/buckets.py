"""LSH buckets in Redis: ``band | bucket | id`` members of small sorted sets, read by lex range.

Many small sets in Redis's compact encoding instead of one key per bucket: a member costs about
30 bytes. Sets are filed per generation of the index window, so a whole slice expires as one
key, and spread over ``shards`` keys per generation (by the bucket value), so they stay small.

An article touches one set per band (37 at the default settings) for each of insert, query and
removal, in every generation searched. A batch's go out as one Lua script call each (one per
hash tag on a Redis Cluster, where a call may touch only one slot), and the calls carry packed
records, not a key and an argument per set: the script makes each set's name from its stem,
generation and shard (``shared.streams.bucket_key``). With thousands of sets per batch, packing
those names and arguments, and Redis taking them apart, had cost more than the look-ups.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from services.dedupe.window import Window
from shared.ids import id_from_bytes, id_to_bytes
from shared.redis import Lua, as_bytes, is_cluster
from shared.streams import BUCKET_SLOTS, bucket_key

_BAND = struct.Struct(">H")
# A set's expiry is the same whoever adds to it, so a process writes it once, then again this
# often; it remembers at most this many sets (a few generations' worth), then starts afresh.
EXPIRY_REFRESH_S = 60.0
EXPIRY_KEPT = 1 << 16
_ID_BYTES = 16

# Every script: ARGV[1], ARGV[2]: the sets' name stem and the number of hash tags; ARGV[3]: the
# size of a record's string (after its 4-byte shard); then groups of arguments, each ending in a
# string of packed records: a shard (4 bytes, big-endian) and a string of that size.
_RECORDS = """
local stem, tags, size = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local function records(packed)
  local at = 1 - 4 - size
  return function()
    at = at + 4 + size
    if at > #packed then return nil end
    local a, b, c, d = string.byte(packed, at, at + 3)
    local shard = ((a * 256 + b) * 256 + c) * 256 + d
    return shard, string.sub(packed, at + 4, at + 3 + size)
  end
end
local function set(generation, shard)
  return stem .. (shard % tags) .. '}:' .. generation .. ':' .. shard
end
"""

# Groups: a generation, its sets' expiry (ms; 0: set a moment ago, leave it), members to add (a
# shard and ``band|bucket|id``).
_ADD = (
    _RECORDS
    + """
local added = 0
for g = 4, #ARGV, 3 do
  local generation, expiry, expiring = ARGV[g], ARGV[g + 1], {}
  for shard, member in records(ARGV[g + 2]) do
    local key = set(generation, shard)
    redis.call('ZADD', key, 0, member)
    if expiry ~= '0' and not expiring[key] then
      redis.call('PEXPIREAT', key, expiry)
      expiring[key] = true
    end
    added = added + 1
  end
end
return added
"""
)

# Groups: a generation, members to remove.
_REMOVE = (
    _RECORDS
    + """
local removed = 0
for g = 4, #ARGV, 2 do
  for shard, member in records(ARGV[g + 1]) do
    redis.call('ZREM', set(ARGV[g], shard), member)
    removed = removed + 1
  end
end
return removed
"""
)

# Groups: the first and last generation to search, ``band|bucket`` prefixes to look up in each.
# Returns one string: for each record (numbered from 1 over all groups) with members under its
# prefix in any generation, the number and how many (4 bytes each, big-endian), then their ids
# (16 bytes each). Most buckets are empty: a reply of one array per set made Redis build and the
# client parse some 20,000 empty arrays per batch.
_SHARING = (
    _RECORDS
    + """
local function u32(x)
  return string.char(math.floor(x / 16777216) % 256, math.floor(x / 65536) % 256,
                     math.floor(x / 256) % 256, x % 256)
end
local out = {}
local pad = string.rep('\\255', 16)
local n = 0
for g = 4, #ARGV, 3 do
  local first, last = tonumber(ARGV[g]), tonumber(ARGV[g + 1])
  for shard, prefix in records(ARGV[g + 2]) do
    n = n + 1
    local lo = '[' .. prefix
    for generation = first, last do
      local members = redis.call('ZRANGEBYLEX', set(generation, shard), lo, lo .. pad)
      if #members > 0 then
        out[#out + 1] = u32(n) .. u32(#members)
        for j = 1, #members do out[#out + 1] = string.sub(members[j], -16) end
      end
    end
  end
end
return table.concat(out)
"""
)
_HIT = struct.Struct(">II")


def _hits(reply: bytes) -> Iterator[tuple[int, list[bytes]]]:
    """``_SHARING``'s reply: each record's number (from 0) that had members, and their ids."""
    at = 0
    while at < len(reply):
        position, count = _HIT.unpack_from(reply, at)
        at += _HIT.size
        yield (
            position - 1,
            [reply[k : k + _ID_BYTES] for k in range(at, at + count * _ID_BYTES, _ID_BYTES)],
        )
        at += count * _ID_BYTES


@cache
def _record(size: int) -> struct.Struct:
    """A packed record: shard, band, then a string (the rest of the member) of ``size``."""
    return struct.Struct(f">IH{size}s")


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


class _Call:
    """One script call's groups of records, and for each record the caller's tag."""

    def __init__(self, first_set: str) -> None:
        self.first_set = first_set  # a set of the call's slot, which a cluster routes it by
        self.groups: dict[tuple[int, ...], tuple[list[bytes], list[int]]] = {}

    def tags(self) -> list[int]:
        """Per record, in the order the script numbers them (group by group)."""
        return [tag for _, tags in self.groups.values() for tag in tags]


class _Calls:
    """Records gathered per slot tag (one call each, one on a single server), per group."""

    def __init__(self, stem: str, clustered: bool) -> None:
        self.stem = stem
        self.clustered = clustered
        self.calls: dict[int, _Call] = {}

    def add(self, group: tuple[int, ...], shard: int, record: bytes, tag: int = 0) -> None:
        slot = shard % BUCKET_SLOTS if self.clustered else 0
        call = self.calls.get(slot)
        if call is None:
            call = self.calls[slot] = _Call(bucket_key(self.stem, group[0], shard))
        records, tags = call.groups.setdefault(group, ([], []))
        records.append(record)
        tags.append(tag)

    def arguments(self, size: int) -> Iterator[tuple[_Call, list[str], list[bytes | int]]]:
        """Each call, its keys and its arguments (records of ``size`` after their shard)."""
        for call in self.calls.values():
            args: list[bytes | int] = [self.stem.encode(), BUCKET_SLOTS, size]
            for group, (records, _) in call.groups.items():
                args += [*group, b"".join(records)]
            yield call, [call.first_set], args


class LshBuckets:
    def __init__(self, redis: aioredis.Redis, stem: str, window: Window, shards: int) -> None:
        self.redis = redis
        self.stem = stem  # of the sets' names (``shared.streams.bucket_key``)
        self.window = window
        self.shards = shards
        self.clustered = is_cluster(redis)
        self._add = Lua(redis, _ADD)
        self._remove = Lua(redis, _REMOVE)
        self._sharing = Lua(redis, _SHARING)
        self._expiry_set: dict[tuple[int, int], float] = {}  # (generation, shard): when

    def _members(
        self, calls: _Calls, placed: Sequence[Placed], group: Callable[[int, int], tuple[int, ...]]
    ) -> int:
        """Each article's members into ``calls``, in the group ``group(generation, shard)``
        gives them; the size of a member after its band."""
        size = 0
        for p in placed:
            own = id_to_bytes(p.article_id)
            for band, bucket in enumerate(p.buckets):
                size = len(bucket) + len(own)
                shard = self._shard(bucket)
                calls.add(
                    group(p.generation, shard), shard, _record(size).pack(shard, band, bucket + own)
                )
        return size

    def _expiring(self, generation: int, shard: int) -> tuple[int, int]:
        """A set's generation and the expiry to give it: the first time this process adds to
        it, then again at most every ``EXPIRY_REFRESH_S`` (a set lost meanwhile, say in a
        failover, is made anew without one); else 0, none."""
        now = time.monotonic()
        if now - self._expiry_set.get((generation, shard), -EXPIRY_REFRESH_S) < EXPIRY_REFRESH_S:
            return generation, 0
        self._expiry_set[generation, shard] = now
        return generation, self.window.generation_expiry_ms(generation)

    async def queue_add(self, pipe: Pipeline, placed: Sequence[Placed]) -> None:
        """Queue the inserts into ``pipe`` (awaiting it only queues the script calls)."""
        if len(self._expiry_set) >= EXPIRY_KEPT:
            self._expiry_set.clear()
        calls = _Calls(self.stem, self.clustered)
        size = self._members(calls, placed, self._expiring)
        for _, keys, args in calls.arguments(_BAND.size + size):
            await self._add(keys=keys, args=args, client=pipe)

    async def add(self, placed: Sequence[Placed]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            await self.queue_add(pipe, placed)
            await pipe.execute()

    async def remove(self, pipe: Pipeline, placed: Sequence[Placed]) -> None:
        calls = _Calls(self.stem, self.clustered)
        size = self._members(calls, placed, lambda generation, _: (generation,))
        for _, keys, args in calls.arguments(_BAND.size + size):
            await self._remove(keys=keys, args=args, client=pipe)

    async def sharing(
        self, article_id: str, buckets: Sequence[bytes], now_ms: int, ingest_ms: int
    ) -> list[str]:
        """Ids filed in any of the buckets in a live generation, the article itself excluded."""
        [found] = await self.sharing_all([Query(article_id, buckets, ingest_ms)], now_ms)
        return found

    async def sharing_all(self, queries: Sequence[Query], now_ms: int) -> list[list[str]]:
        """``sharing`` for many articles in one round trip."""
        calls = _Calls(self.stem, self.clustered)
        size = 0
        for n, query in enumerate(queries):
            generations = self.window.searched(now_ms, query.ingest_ms)
            group = (generations.start, generations.stop - 1)
            for band, bucket in enumerate(query.buckets):
                size = len(bucket)
                shard = self._shard(bucket)
                calls.add(group, shard, _record(size).pack(shard, band, bucket), n)
        gathered = list(calls.arguments(_BAND.size + size))
        async with self.redis.pipeline(transaction=False) as pipe:
            for _, keys, args in gathered:
                await self._sharing(keys=keys, args=args, client=pipe)
            replies = await pipe.execute()
        found: list[set[bytes]] = [set() for _ in queries]
        for (call, _, _), reply in zip(gathered, replies, strict=True):
            tags = call.tags()
            for position, hit in _hits(as_bytes(reply)):
                found[tags[position]].update(hit)
        for query, raw_ids in zip(queries, found, strict=True):
            raw_ids.discard(id_to_bytes(query.article_id))
        # Articles of one batch share candidates (a busy story's members): each id decoded once.
        named = {raw: id_from_bytes(raw) for raw in set().union(*found)}
        return [sorted(named[raw] for raw in raw_ids) for raw_ids in found]

    def _shard(self, bucket: bytes) -> int:
        return int.from_bytes(bucket[:4], "big") % self.shards
