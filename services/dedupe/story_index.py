"""The shared story index in Redis, beside the dedupe index and built the same way.

Keys (under the prefix; all expire):
- ``st:e:{<id>}`` → a canonical article's story member: state, salient terms, story once
  settled; lives for the story quiet time after ingest.
- ``st:lsh:<generation>:<shard>`` → LSH buckets of the members' term-set MinHash (candidates).
- ``story:{<id>}`` → a story's representative terms, member count, first and last seen; expires
  a quiet time after its last member, which is when it closes.
- ``df:<generation>`` / ``dfn:<generation>`` → document frequency of each term among canonical
  articles, and their count: the inverse document frequency is learned from the stream.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from functools import lru_cache

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.typing import EncodableT

from services.dedupe.buckets import LshBuckets, Placed, Query
from services.dedupe.decide import State
from services.dedupe.index import COUNT_MANY, FILE_UNLESS_DECIDED, count_args, read_states
from services.dedupe.settled import SettledMembers
from services.dedupe.signature import SignatureParams, Signer
from services.dedupe.stories import Member, Story
from services.dedupe.window import SKEW_MS, Window
from shared.redis import Lua, as_bytes, get_many
from shared.streams import Keys

# Term sets are small (20 terms) and two articles on one event may share only a few of them: a
# short signature, banded by datasketch's optimiser for a Jaccard of 0.05 (32 bands of one row:
# a candidate at Jaccard 0.1 with probability 0.97), finds the candidates; the story's
# representative terms decide.
STORY_NUM_PERM = 32
STORY_CANDIDATE_THRESHOLD = 0.05
MEMBERS_DECODED = 8192  # about 20 MB of parsed terms
STORIES_DECODED = 4096  # about 20 MB: a story keeps twice the terms of a member


# KEYS[1]: a story record; ARGV: the value it was read with ('' for none), its new value, expiry.
_REPLACE = """
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1
"""


def story_signer(seed: int) -> Signer:
    return Signer(SignatureParams(STORY_NUM_PERM, seed, 1, STORY_CANDIDATE_THRESHOLD))


def encode_member(member: Member) -> bytes:
    body = {"t": member.terms, "s": member.story_id}
    return member.state.value.encode() + json.dumps(body, separators=(",", ":")).encode()


@lru_cache(maxsize=MEMBERS_DECODED)
def decode_member(article_id: str, data: bytes) -> Member:
    """Cached: a settled member is read again by every later query that shares its buckets,
    and parsing its terms was most of a story look-up. Callers share the result: read only."""
    body = json.loads(data[1:])
    return Member(article_id, State(data[:1].decode()), body["t"], body["s"])


_STORY_FIELDS = tuple(f.name for f in fields(Story))


def encode_story(story: Story) -> str:
    """The record's fields only: not what a story caches (``Story.squares``); ``asdict`` would
    deep-copy the weights."""
    return json.dumps({name: getattr(story, name) for name in _STORY_FIELDS}, separators=(",", ":"))


@lru_cache(maxsize=STORIES_DECODED)
def decode_story(data: bytes | str) -> Story:
    """Cached like ``decode_member``: every article near a story reads its record. Read only."""
    return Story(**json.loads(data))


@dataclass(frozen=True)
class MemberFiling:
    member: Member
    buckets: Sequence[bytes]
    generation: int
    expiry_ms: int


class StoryIndex:
    def __init__(
        self, redis: aioredis.Redis, keys: Keys, seed: int, quiet_ms: int, shards: int
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.signer = story_signer(seed)
        self.window = Window(quiet_ms)
        self.quiet_ms = quiet_ms
        self.buckets = LshBuckets(redis, keys.story_bucket_stem, self.window, shards)
        self._file = Lua(redis, FILE_UNLESS_DECIDED)
        self._count = Lua(redis, COUNT_MANY)
        self._replace = Lua(redis, _REPLACE)
        self.settled = SettledMembers(MEMBERS_DECODED, quiet_ms)

    def term_buckets(self, terms: dict[str, float]) -> list[bytes]:
        signature = self.signer.sign(sorted(t.encode() for t in terms))
        return self.signer.band_keys(signature)

    async def frequencies(self, terms: Sequence[str], now_ms: int) -> tuple[dict[str, int], int]:
        """Document frequencies of ``terms`` among canonical articles, and their number."""
        generation = self.window.generation(now_ms)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(self.keys.documents(generation))
            pipe.get(self.keys.documents(generation - 1))
            if terms:  # HMGET without fields is an error
                pipe.hmget(self.keys.document_frequency(generation), list(terms))
                pipe.hmget(self.keys.document_frequency(generation - 1), list(terms))
            docs_now, docs_before, *counted = await pipe.execute()
        now_counts, before_counts = counted or ([], [])
        frequencies = {
            term: int(a or 0) + int(b or 0)
            for term, a, b in zip(terms, now_counts, before_counts, strict=True)
        }
        return frequencies, int(docs_now or 0) + int(docs_before or 0)

    async def count(self, pipe: Pipeline, terms: Counter[str], documents: int, now_ms: int) -> None:
        """Queue the counting of ``documents`` more canonical articles, in which the terms
        occurred ``terms`` times; per generation, so old counts expire."""
        generation = self.window.generation(now_ms)
        expiry = self.window.generation_expiry_ms(generation)
        if terms:
            key = self.keys.document_frequency(generation)
            await self._count(keys=[key], args=count_args(expiry, terms), client=pipe)
        pipe.incrby(self.keys.documents(generation), documents)
        pipe.pexpireat(self.keys.documents(generation), expiry)

    def expiry_ms(self, ingest_ms: int, now_ms: int) -> int:
        return self.window.entry_expiry_ms(ingest_ms, now_ms)

    async def file_all(self, filings: Sequence[MemberFiling]) -> list[bool]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for f in filings:
                await self._queue(pipe, f.member, f.expiry_ms)
            placed = [Placed(f.member.article_id, f.buckets, f.generation) for f in filings]
            await self.buckets.queue_add(pipe, placed)
            replies = await pipe.execute()
        return [bool(filed) for filed in replies[: len(filings)]]

    async def withdraw_all(self, members: Sequence[tuple[Member, int]]) -> None:
        """Mark contenders withdrawn (each with its expiry), in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for member, expiry_ms in members:
                await self._queue(pipe, replace(member, state=State.WITHDRAWN), expiry_ms)
            await pipe.execute()

    async def _queue(self, pipe: Pipeline, member: Member, expiry_ms: int) -> None:
        keys = [self.keys.story_member(member.article_id), self.keys.verdict(member.article_id)]
        await self._file(keys=keys, args=[encode_member(member), expiry_ms], client=pipe)

    async def candidate_ids(self, queries: Sequence[Query], now_ms: int) -> list[list[str]]:
        return await self.buckets.sharing_all(queries, now_ms) if queries else []

    async def candidates_among(
        self, found: Sequence[Sequence[str]], now_ms: int
    ) -> list[list[Member]]:
        """The members still in the index among each article's candidate ids."""
        members = await self.members(sorted({i for ids in found for i in ids}), now_ms)
        return [[members[i] for i in ids if i in members] for ids in found]

    async def members(self, article_ids: Sequence[str], now_ms: int) -> dict[str, Member]:
        """The members still in the index; settled ones read before come from ``settled``."""
        known = self.settled.known(article_ids, now_ms)
        unknown = [i for i in article_ids if i not in known]
        if not unknown:
            return known
        values = await get_many(self.redis, [self.keys.story_member(i) for i in unknown])
        read = {i: decode_member(i, as_bytes(v)) for i, v in zip(unknown, values, strict=True) if v}
        self.settled.remember(read.values())
        return known | read

    def committed(self, placed: Iterable[tuple[Member, Story]]) -> None:
        """Members this process has just settled in their stories: their records are final, so
        they are kept as if read back (with more replicas, each one's own share is not read)."""
        self.settled.remember(settled_member(member, story) for member, story in placed)

    async def states(self, article_ids: Sequence[str]) -> dict[str, State | None]:
        keys = [self.keys.story_member(i) for i in article_ids]
        return await read_states(self.redis, keys, article_ids)

    async def stories(
        self, story_ids: Sequence[str], watching: Pipeline | None = None
    ) -> dict[str, Story]:
        """The live story records; ``watching``: read through a pipeline in WATCH mode."""
        if not story_ids:
            return {}
        client = watching if watching is not None else self.redis
        values = await get_many(client, [self.keys.story(s) for s in story_ids])
        return {s: decode_story(v) for s, v in zip(story_ids, values, strict=True) if v}

    async def stories_of(self, article_ids: Sequence[str], now_ms: int) -> dict[str, str | None]:
        """The story each settled canonical article belongs to."""
        members = await self.members(article_ids, now_ms)
        return {i: members[i].story_id if i in members else None for i in article_ids}

    def settle(
        self, pipe: Pipeline, member: Member, story: Story, expiry_ms: int, now_ms: int
    ) -> None:
        """Queue the writes that put the article in ``story`` into the caller's transaction."""
        pipe.set(self.keys.story_member(member.article_id), settled(member, story), pxat=expiry_ms)
        self.keep(pipe, story, now_ms)

    def keep(self, pipe: Pipeline, story: Story, now_ms: int) -> None:
        """Queue the write of a story record."""
        pipe.set(
            self.keys.story(story.story_id), encode_story(story), pxat=self._closes(story, now_ms)
        )

    def _closes(self, story: Story, now_ms: int) -> int:
        """Kept while it may take members: a quiet time after its last one, by event time, and
        at least a quiet time from now (a backlog of old news is grouped as it arrives)."""
        return max(story.last_seen_ms, now_ms) + self.quiet_ms + SKEW_MS

    async def records(self, story_ids: Sequence[str]) -> list[bytes | None]:
        """The story records as stored (None: absent), for ``replace_all``, in one round trip."""
        values = await get_many(self.redis, [self.keys.story(s) for s in story_ids])
        return [as_bytes(v) if v else None for v in values]

    async def replace_all(
        self, writes: Sequence[tuple[Story, bytes | None]], now_ms: int
    ) -> list[bool]:
        """Write each story record unless it changed since it was read as the value given
        (None: absent); whether each was written. One round trip for all.

        A compare-and-set on one key each, for a Redis Cluster: redis-py's cluster client
        cannot read under WATCH from an asyncio program.
        """
        if not writes:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for story, expected in writes:
                args: list[EncodableT] = [
                    expected or b"",
                    encode_story(story),
                    self._closes(story, now_ms),
                ]
                await self._replace(keys=[self.keys.story(story.story_id)], args=args, client=pipe)
            return [bool(written) for written in await pipe.execute()]


def settled_member(member: Member, story: Story) -> Member:
    return replace(member, state=State.CANONICAL, story_id=story.story_id)


def settled(member: Member, story: Story) -> bytes:
    """A story member's record once it is in ``story``."""
    return encode_member(settled_member(member, story))
