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
Reads and writes for a whole batch of articles go out as one pipeline per step of the protocol.
"""

from __future__ import annotations

import json
import struct
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from services.dedupe.buckets import LshBuckets, Placed, Query
from services.dedupe.decide import Decision, Entry, State, canonical
from services.dedupe.shingles import SHINGLE_HASH
from services.dedupe.signature import SCHEME, Signer, from_bytes, to_bytes
from services.dedupe.window import Window
from shared.redis import Lua, as_bytes, as_text, get_many
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


# KEYS[1]: a hash; ARGV[1]: its expiry (ms); then field, increment, field, increment, ...
COUNT_MANY = """
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return #ARGV
"""


def count_args(
    expiry_ms: int, counts: Mapping[str, int] | Mapping[bytes, int]
) -> list[bytes | str | int]:
    return [expiry_ms, *(x for field, n in counts.items() for x in (field, n))]


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


@dataclass(frozen=True)
class Probe:
    """What is looked up for an article before it is filed."""

    article_id: str
    url_hash: str | None
    source: str | None
    line_keys: Sequence[bytes]


@dataclass(frozen=True)
class Lookup:
    recorded: Decision | None
    unpublished: bytes | None  # on a cluster: its verdict, if a crash kept it from its stream
    url_owner: tuple[str, bytes] | None  # the first article posted under its URL, if any
    line_counts: dict[bytes, int]  # in how many of its source's articles each edge line was


@dataclass(frozen=True)
class Filing:
    """An article to file as a contender; ``url_hash`` if it claims its URL."""

    entry: Entry
    buckets: Sequence[bytes]
    generation: int
    expiry_ms: int
    url_hash: str | None


@dataclass(frozen=True)
class LineCounts:
    """Per source, in how many of a batch's articles each edge line appeared, counted at
    ``now_ms``."""

    now_ms: int
    by_source: Mapping[str, Counter[bytes]]


@dataclass(frozen=True)
class Filed:
    filed: bool  # False: the article was decided meanwhile (another worker took it over)
    url_owner: tuple[str, bytes] | None


def _owner(raw: bytes) -> tuple[str, bytes]:
    return raw[:-8].decode(), raw[-8:]


class RedisIndex:
    def __init__(
        self, redis: aioredis.Redis, keys: Keys, signer: Signer, window: Window, shards: int
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.signer = signer
        self.window = window
        self.shards = shards
        self.buckets = LshBuckets(redis, keys.bucket_stem, window, shards)
        self._file = Lua(redis, FILE_UNLESS_DECIDED)
        self._count = Lua(redis, COUNT_MANY)

    def params(self) -> dict[str, str]:
        p = self.signer.params
        return {
            "num_perm": str(p.num_perm),
            "seed": str(p.seed),
            "shingle_size": str(p.shingle_size),
            "candidate_threshold": str(p.candidate_threshold),
            "bands": str(self.signer.bands),
            "rows": str(self.signer.rows),
            "scheme": f"{SCHEME}/{SHINGLE_HASH}",  # another value than an older index's
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

    async def recorded(self, article_id: str) -> Decision | None:
        """The final decision on an article, if one was taken."""
        return (await self.recorded_all([article_id]))[article_id]

    async def recorded_all(
        self, article_ids: Sequence[str], watching: Pipeline | None = None
    ) -> dict[str, Decision | None]:
        """``recorded`` for many articles in two commands.

        ``watching``: a pipeline in WATCH mode, read through its own connection (a transaction
        that held one connection while asking the pool for another could exhaust the pool).
        """
        client = watching if watching is not None else self.redis
        verdicts = await get_many(client, [self.keys.verdict(i) for i in article_ids])
        entries = await get_many(client, [self.keys.entry(i) for i in article_ids])
        return {
            i: _decision(i, verdict, entry)
            for i, verdict, entry in zip(article_ids, verdicts, entries, strict=True)
        }

    async def look_up(self, probes: Sequence[Probe], now_ms: int) -> list[Lookup]:
        """For each article: its decision if taken, its URL's owner, its edge lines' counts."""
        generation = self.window.generation(now_ms)
        async with self.redis.pipeline(transaction=False) as pipe:
            for probe in probes:
                pipe.get(self.keys.verdict(probe.article_id))
                pipe.getrange(self.keys.entry(probe.article_id), 0, 0)
                pipe.get(self.keys.outbox(probe.article_id))
                if probe.url_hash:
                    pipe.get(self.keys.url(probe.url_hash))
                if probe.source and probe.line_keys:
                    for g in (generation, generation - 1):
                        pipe.hmget(self.keys.boilerplate(f"{probe.source}:{g}"), probe.line_keys)
            replies = iter(await pipe.execute())
        found = []
        for probe in probes:
            recorded = _decision(probe.article_id, next(replies), next(replies))
            unpublished = next(replies)
            owner = next(replies) if probe.url_hash else None
            counts: dict[bytes, int] = {}
            if probe.source and probe.line_keys:
                now_counts, before_counts = next(replies), next(replies)
                counts = {
                    key: int(a or 0) + int(b or 0)
                    for key, a, b in zip(probe.line_keys, now_counts, before_counts, strict=True)
                }
            owned = _owner(as_bytes(owner)) if owner else None
            found.append(Lookup(recorded, unpublished, owned, counts))
        return found

    async def states(self, article_ids: Sequence[str]) -> dict[str, State | None]:
        return await read_states(self.redis, [self.keys.entry(i) for i in article_ids], article_ids)

    async def candidates(
        self, article_id: str, buckets: Sequence[bytes], now_ms: int, ingest_ms: int
    ) -> list[Entry]:
        """Every live entry sharing an LSH bucket with the article, itself excluded."""
        [found] = await self.candidates_all([Query(article_id, buckets, ingest_ms)], now_ms)
        return found

    async def candidates_all(self, queries: Sequence[Query], now_ms: int) -> list[list[Entry]]:
        """``candidates`` for many articles: one round trip for the buckets, one for entries."""
        ids = await self.buckets.sharing_all(queries, now_ms)
        wanted = sorted({i for found in ids for i in found})
        if not wanted:
            return [[] for _ in queries]
        values = await get_many(self.redis, [self.keys.entry(i) for i in wanted])
        entries = {
            i: decode_entry(i, as_bytes(v)) for i, v in zip(wanted, values, strict=True) if v
        }
        return [[entries[i] for i in found if i in entries] for found in ids]

    # -- writing ---------------------------------------------------------------------------

    async def file_all(
        self, filings: Sequence[Filing], lines: LineCounts | None = None
    ) -> list[Filed]:
        """File the articles as contenders, claim their URLs, count their sources' edge lines.

        From here on every replica's query sees them.
        """
        counted = lines.by_source if lines else {}
        async with self.redis.pipeline(transaction=False) as pipe:
            if lines:
                generation = self.window.generation(lines.now_ms)
                expiry = self.window.generation_expiry_ms(generation)
                for source, counts in counted.items():
                    key = self.keys.boilerplate(f"{source}:{generation}")
                    await self._count(keys=[key], args=count_args(expiry, counts), client=pipe)
            for filing in filings:
                entry = filing.entry
                if filing.url_hash:
                    key = self.keys.url(filing.url_hash)
                    claim = entry.article_id.encode() + entry.content_key
                    pipe.set(key, claim, nx=True, pxat=filing.expiry_ms)
                    pipe.get(key)
                await self._queue_entry(pipe, entry, filing.expiry_ms)
            placed = [Placed(f.entry.article_id, f.buckets, f.generation) for f in filings]
            await self.buckets.queue_add(pipe, placed)
            replies = iter((await pipe.execute())[len(counted) :])
        results = []
        for filing in filings:
            owner = None
            if filing.url_hash:
                next(replies)
                owner = _owner(as_bytes(next(replies)))
            results.append(Filed(bool(next(replies)), owner))
        return results

    async def insert(
        self, entry: Entry, buckets: Sequence[bytes], generation: int, expiry_ms: int
    ) -> bool:
        """File one article as a contender; False if it turned out to be decided already."""
        [filed] = await self.file_all([Filing(entry, buckets, generation, expiry_ms, None)])
        return filed.filed

    async def withdraw(self, entry: Entry, expiry_ms: int) -> None:
        await self.withdraw_all([(entry, expiry_ms)])

    async def withdraw_all(self, entries: Sequence[tuple[Entry, int]]) -> None:
        """Mark contenders withdrawn (each with its entry's expiry), in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry, expiry_ms in entries:
                await self._queue_entry(pipe, replace(entry, state=State.WITHDRAWN), expiry_ms)
            await pipe.execute()

    async def _queue_entry(self, pipe: Pipeline, entry: Entry, expiry_ms: int) -> None:
        keys = [self.keys.entry(entry.article_id), self.keys.verdict(entry.article_id)]
        value = encode_entry(entry, self.signer.params.seed)
        await self._file(keys=keys, args=[value, expiry_ms], client=pipe)

    async def record(
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
            pipe.set(key, self.final_record(entry, decision), pxat=expiry_ms)
            return
        pipe.set(self.keys.verdict(entry.article_id), self.final_record(entry, decision),
                 pxat=expiry_ms)  # fmt: skip
        pipe.delete(key)
        if generation is not None:
            await self.buckets.remove(pipe, [Placed(entry.article_id, buckets, generation)])

    def final_record(self, entry: Entry, decision: Decision) -> bytes | str:
        """What stays of a decided article: a canonical one's entry in state K, a duplicate's
        verdict."""
        if decision.is_canonical:
            return encode_entry(replace(entry, state=State.CANONICAL), self.signer.params.seed)
        return json.dumps(vars(decision))  # asdict would copy it field by field, deeply


def _decision(
    article_id: str, verdict: bytes | str | None, entry: bytes | str | None
) -> Decision | None:
    """A duplicate's verdict record, or a canonical article's entry in state K."""
    if verdict:
        return Decision(**json.loads(verdict))
    if entry and as_bytes(entry)[:1] == State.CANONICAL.value.encode():
        return canonical(article_id)
    return None
