"""The shared dedupe index in Redis: what every replica writes before deciding and reads to decide.

Keys (under the configured prefix; every one expires, so memory stays bounded on an endless
stream):
- ``e:<id>`` → an article's entry: protocol state, content key, shingle count and LeanMinHash
  signature; expires at ingest time + horizon. Only canonical articles keep one.
- ``lsh:<generation>:<shard>`` → sorted set of ``band | bucket | id`` members (all score 0), read
  by lexicographic range: many small sets in Redis's compact encoding instead of one key per
  bucket. A generation is half the horizon and expires as a whole.
- ``url:<url hash>`` → the first article posted under a canonical URL, and its content key.
- ``verdict:<id>`` → a duplicate's decision, so a redelivery repeats it (a canonical article's
  decision is its entry's state).
- ``bp:<source>:<generation>`` → in how many of the source's articles each edge line appeared.
- ``index:params`` → the signature parameters the index was built with.
Every command touches one key, so the keys may live on different Redis Cluster slots.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import asdict, replace

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from services.dedupe.buckets import LshBuckets
from services.dedupe.decide import Decision, Entry, State, canonical
from services.dedupe.signature import SCHEME, Signer, from_bytes, to_bytes
from services.dedupe.window import Window
from shared.redis import as_bytes, as_text
from shared.streams import Keys

_HEADER = struct.Struct("<c8sI")  # state, content key, shingle count


# Write an article's entry unless the article is decided already (canonical state, or a verdict):
# a slow worker's late write must never turn a decided article back into a contender. Both keys
# carry the article id as hash tag, so the script touches one Redis Cluster slot.
FILE_UNLESS_DECIDED = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('GETRANGE', KEYS[1], 0, 0) == 'K' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
return 1
"""


async def read_states(
    redis: aioredis.Redis, keys: Sequence[str], article_ids: Sequence[str]
) -> dict[str, State | None]:
    """The protocol state (first byte) of each article's entry; None where it has none."""
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.getrange(key, 0, 0)
        replies = await pipe.execute()
    return {i: State(as_text(r)) if r else None for i, r in zip(article_ids, replies, strict=True)}


class IndexMismatch(RuntimeError):
    """The shared index was built with other signature parameters than this process uses."""


def encode_entry(entry: Entry, seed: int) -> bytes:
    header = _HEADER.pack(entry.state.value.encode(), entry.content_key, entry.size)
    return header + to_bytes(entry.signature, seed)


def decode_entry(article_id: str, data: bytes) -> Entry:
    state, content_key, size = _HEADER.unpack_from(data)
    signature = from_bytes(data[_HEADER.size :])
    return Entry(article_id, State(state.decode()), content_key, size, signature)


class RedisIndex:
    def __init__(
        self, redis: aioredis.Redis, keys: Keys, signer: Signer, window: Window, shards: int
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.signer = signer
        self.window = window
        self.shards = shards
        self.buckets = LshBuckets(redis, keys.bucket, window, shards)
        self._file = redis.register_script(FILE_UNLESS_DECIDED)

    def params(self) -> dict[str, str]:
        p = self.signer.params
        return {
            "num_perm": str(p.num_perm),
            "seed": str(p.seed),
            "shingle_size": str(p.shingle_size),
            "candidate_threshold": str(p.candidate_threshold),
            "bands": str(self.signer.bands),
            "rows": str(self.signer.rows),
            "scheme": SCHEME,
            "shards": str(self.shards),
            "horizon_ms": str(self.window.horizon_ms),
        }

    async def claim_params(self, extra: dict[str, str] | None = None) -> None:
        """Record this process's parameters, or refuse to run against an index built otherwise."""
        key = self.keys.index_params()
        mine = self.params() | (extra or {})
        for field, value in mine.items():
            await self.redis.hsetnx(key, field, value)
        stored = {as_text(k): as_text(v) for k, v in (await self.redis.hgetall(key)).items()}
        differing = {f: (stored.get(f), v) for f, v in mine.items() if stored.get(f) != v}
        if differing:
            detail = ", ".join(
                f"{f}: index has {s}, this process {m}" for f, (s, m) in differing.items()
            )
            raise IndexMismatch(
                f"the index under '{self.keys.prefix}:' was built with other parameters "
                f"({detail}); use the same NEWSDEDUP_* settings, or another "
                "NEWSDEDUP_KEY_PREFIX for a new index"
            )

    # -- reading ---------------------------------------------------------------------------

    async def recorded(self, article_id: str, watching: Pipeline | None = None) -> Decision | None:
        """The final decision on an article, if one was taken.

        ``watching``: a pipeline in WATCH mode, read through its own connection (a transaction
        that held one connection while asking the pool for another could exhaust the pool).
        """
        if watching is not None:
            verdict = await watching.get(self.keys.verdict(article_id))
            state = await watching.getrange(self.keys.entry(article_id), 0, 0)
        else:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(self.keys.verdict(article_id))
                pipe.getrange(self.keys.entry(article_id), 0, 0)
                verdict, state = await pipe.execute()
        if verdict:
            return Decision(**json.loads(verdict))
        if as_bytes(state) == State.CANONICAL.value.encode():
            return canonical(article_id)
        return None

    async def states(self, article_ids: Sequence[str]) -> dict[str, State | None]:
        return await read_states(self.redis, [self.keys.entry(i) for i in article_ids], article_ids)

    async def candidates(
        self, article_id: str, buckets: Sequence[bytes], now_ms: int, ingest_ms: int
    ) -> list[Entry]:
        """Every live entry sharing an LSH bucket with the article, itself excluded."""
        ids = await self.buckets.sharing(article_id, buckets, now_ms, ingest_ms)
        if not ids:
            return []
        values = await self.redis.mget([self.keys.entry(i) for i in ids])
        return [decode_entry(i, as_bytes(v)) for i, v in zip(ids, values, strict=True) if v]

    # -- writing ---------------------------------------------------------------------------

    async def recurring_lines(
        self, source: str, line_keys: Sequence[bytes], now_ms: int, min_articles: int
    ) -> set[bytes]:
        """Count this article's edge lines for its source; return those seen often before."""
        if not line_keys:
            return set()
        generation = self.window.generation(now_ms)
        current = self.keys.boilerplate(f"{source}:{generation}")
        previous = self.keys.boilerplate(f"{source}:{generation - 1}")
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(current, list(line_keys))
            pipe.hmget(previous, list(line_keys))
            for key in line_keys:
                pipe.hincrby(current, key, 1)
            pipe.pexpireat(current, self.window.generation_expiry_ms(generation))
            now_counts, before_counts, *_ = await pipe.execute()
        return {
            key
            for key, a, b in zip(line_keys, now_counts, before_counts, strict=True)
            if int(a or 0) + int(b or 0) >= min_articles - 1
        }

    async def claim_url(
        self, url_hash: str, article_id: str, content_key: bytes, expiry_ms: int
    ) -> tuple[str, bytes]:
        """The first article posted under this URL (this one if it is the first)."""
        key = self.keys.url(url_hash)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(key, article_id.encode() + content_key, nx=True, pxat=expiry_ms)
            pipe.get(key)
            _, owner = await pipe.execute()
        owner = as_bytes(owner) if owner else article_id.encode() + content_key
        return owner[:-8].decode(), owner[-8:]

    async def insert(
        self, entry: Entry, buckets: Sequence[bytes], generation: int, expiry_ms: int
    ) -> bool:
        """File the article as a contender; from here on, every replica's query sees it.

        False if the article turned out to be decided already (another worker took it over).
        """
        if not await self._write_entry(entry, expiry_ms):
            return False
        await self.buckets.add(entry.article_id, buckets, generation)
        return True

    async def withdraw(self, entry: Entry, expiry_ms: int) -> None:
        await self._write_entry(replace(entry, state=State.WITHDRAWN), expiry_ms)

    async def _write_entry(self, entry: Entry, expiry_ms: int) -> bool:
        keys = [self.keys.entry(entry.article_id), self.keys.verdict(entry.article_id)]
        value = encode_entry(entry, self.signer.params.seed)
        return bool(await self._file(keys=keys, args=[value, expiry_ms]))

    def record(
        self,
        pipe: Pipeline,
        entry: Entry,
        buckets: Sequence[bytes],
        generation: int | None,
        decision: Decision,
        expiry_ms: int,
    ) -> None:
        """Queue the final writes for a decision into a transaction the caller executes.

        A canonical article stays in the index as state K; a duplicate leaves it (its canonical
        stands for it) and keeps only its verdict.
        """
        key = self.keys.entry(entry.article_id)
        if decision.is_canonical:
            final = replace(entry, state=State.CANONICAL)
            pipe.set(key, encode_entry(final, self.signer.params.seed), pxat=expiry_ms)
            return
        pipe.set(self.keys.verdict(entry.article_id), json.dumps(asdict(decision)), pxat=expiry_ms)
        pipe.delete(key)
        if generation is not None:
            self.buckets.remove(pipe, entry.article_id, buckets, generation)
