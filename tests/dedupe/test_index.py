"""The Redis index's reads and writes, on fakeredis for speed (the engine tests use a real one)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator

import fakeredis
import pytest
import redis.asyncio as aioredis

from services.dedupe import buckets
from services.dedupe.buckets import Placed, Query
from services.dedupe.decide import Decision, Entry, State, canonical
from services.dedupe.features import Features, features
from services.dedupe.index import (
    Filed,
    Filing,
    LineCounts,
    Probe,
    RedisIndex,
    decode_entry,
    encode_entry,
)
from services.dedupe.signature import SignatureParams, Signer
from services.dedupe.window import Window
from shared.ids import new_id
from shared.streams import Keys
from tests.conftest import SEEDS

SIGNER = Signer(SignatureParams(num_perm=128, seed=1, shingle_size=5, candidate_threshold=0.3))
TEXT = SEEDS[0].read_text(encoding="utf-8")
HORIZON_MS = 3_600_000
FEATS = features(TEXT, None, SIGNER)


@pytest.fixture
async def index() -> AsyncIterator[RedisIndex]:
    client = fakeredis.FakeAsyncRedis()
    yield RedisIndex(client, Keys("nd"), SIGNER, Window(HORIZON_MS), shards=16)
    await client.aclose()


def _now() -> int:
    return int(time.time() * 1000)


def _entry(article_id: str, feats: Features = FEATS, state: State = State.CONTENDING) -> Entry:
    return Entry(article_id, state, bytes.fromhex(feats.content_hash[:16]), feats.size,
                 feats.signature)  # fmt: skip


async def _insert(index: RedisIndex, entry: Entry) -> None:
    await index.insert(entry, FEATS.buckets, index.window.generation(_now()), _now() + HORIZON_MS)


async def _record(index: RedisIndex, entry: Entry, decision: Decision) -> None:
    redis: aioredis.Redis = index.redis
    async with redis.pipeline(transaction=True) as pipe:
        generation = index.window.generation(_now())
        await index.record(pipe, entry, FEATS.buckets, generation, decision, _now() + HORIZON_MS)
        await pipe.execute()


async def _candidates(index: RedisIndex, article_id: str) -> list[Entry]:
    return await index.candidates(article_id, FEATS.buckets, _now(), _now())


def test_an_entry_reads_back_as_it_was_written() -> None:
    entry = _entry(new_id(), state=State.WITHDRAWN)
    back = decode_entry(entry.article_id, encode_entry(entry, seed=1))
    assert (back.state, back.content_key, back.size) == (entry.state, entry.content_key, entry.size)
    assert (back.signature == entry.signature).all()


async def test_an_empty_index_has_no_candidates(index: RedisIndex) -> None:
    assert await _candidates(index, new_id()) == []


async def test_an_inserted_article_is_a_candidate_for_another_with_its_buckets(
    index: RedisIndex,
) -> None:
    first = _entry(new_id())
    await _insert(index, first)
    [found] = await _candidates(index, new_id())
    assert (found.article_id, found.state, found.size) == (first.article_id, State.CONTENDING,
                                                          FEATS.size)  # fmt: skip


async def test_an_article_is_not_its_own_candidate(index: RedisIndex) -> None:
    entry = _entry(new_id())
    await _insert(index, entry)
    assert await _candidates(index, entry.article_id) == []


async def test_an_undecided_article_has_no_recorded_decision(index: RedisIndex) -> None:
    entry = _entry(new_id())
    await _insert(index, entry)
    assert await index.recorded(entry.article_id) is None


async def test_a_canonical_decision_is_recorded_as_the_entry_state(index: RedisIndex) -> None:
    entry = _entry(new_id())
    await _insert(index, entry)
    await _record(index, entry, canonical(entry.article_id))
    assert await index.recorded(entry.article_id) == canonical(entry.article_id)
    assert (await index.states([entry.article_id])) == {entry.article_id: State.CANONICAL}


async def test_a_duplicate_keeps_its_decision_and_leaves_the_lsh_index(index: RedisIndex) -> None:
    entry = _entry(new_id())
    await _insert(index, entry)
    decision = Decision("duplicate", "A", 0.87, "near", "jaccard", "A")
    await _record(index, entry, decision)
    assert await index.recorded(entry.article_id) == decision
    assert await _candidates(index, new_id()) == []
    assert await index.redis.zcard(index.keys.bucket(index.window.generation(_now()), 0)) == 0


async def test_withdrawing_changes_only_the_state(index: RedisIndex) -> None:
    entry = _entry(new_id())
    await _insert(index, entry)
    await index.withdraw(entry, _now() + HORIZON_MS)
    [found] = await _candidates(index, new_id())
    assert (found.state, found.content_key) == (State.WITHDRAWN, entry.content_key)


async def test_every_index_key_expires(index: RedisIndex) -> None:
    entry = _entry(new_id())
    await _insert(index, entry)
    keys = await index.redis.keys("nd:*")
    assert len(keys) > 1
    for key in keys:
        assert await index.redis.pttl(key) > 0


async def test_the_entry_expires_a_horizon_after_ingest(index: RedisIndex) -> None:
    entry = _entry(new_id())
    await _insert(index, entry)
    ttl = await index.redis.pttl(index.keys.entry(entry.article_id))
    assert HORIZON_MS - 5_000 < ttl <= HORIZON_MS


async def _file_with_url(index: RedisIndex, article_id: str, url_hash: str) -> Filed:
    entry = _entry(article_id)
    generation = index.window.generation(_now())
    filing = Filing(entry, FEATS.buckets, generation, _now() + HORIZON_MS, url_hash)
    [filed] = await index.file_all([filing])
    return filed


async def test_a_url_belongs_to_the_first_article_posted_under_it(index: RedisIndex) -> None:
    first, second = new_id(), new_id()
    await _file_with_url(index, first, "h")
    filed = await _file_with_url(index, second, "h")
    assert filed.url_owner is not None and filed.url_owner[0] == first


async def test_a_look_up_names_the_urls_owner(index: RedisIndex) -> None:
    first = new_id()
    await _file_with_url(index, first, "h")
    [found] = await index.look_up([Probe(new_id(), "h", None, [])], _now())
    assert found.url_owner == (first, _entry(first).content_key)


async def _count_lines(index: RedisIndex, source: str, articles: int) -> None:
    counts = LineCounts(_now(), {source: Counter({b"header..": articles})})
    await index.file_all([], counts)


async def _line_count(index: RedisIndex, source: str) -> int:
    [found] = await index.look_up([Probe(new_id(), None, source, [b"header.."])], _now())
    return found.line_counts[b"header.."]


async def test_an_edge_line_is_counted_for_each_article_of_its_source(index: RedisIndex) -> None:
    await _count_lines(index, "site", 2)
    await _count_lines(index, "site", 1)
    assert await _line_count(index, "site") == 3


async def test_line_counts_are_kept_per_source(index: RedisIndex) -> None:
    await _count_lines(index, "site", 3)
    assert await _line_count(index, "other") == 0


async def test_a_look_up_finds_a_recorded_decision(index: RedisIndex) -> None:
    entry = _entry(new_id())
    await _insert(index, entry)
    await _record(index, entry, canonical(entry.article_id))
    [found] = await index.look_up([Probe(entry.article_id, None, None, [])], _now())
    assert found.recorded == canonical(entry.article_id)


async def test_a_late_write_never_turns_a_canonical_article_back_into_a_contender(
    index: RedisIndex,
) -> None:
    entry = _entry(new_id())
    await _insert(index, entry)
    await _record(index, entry, canonical(entry.article_id))
    filed_again = await index.insert(entry, FEATS.buckets, 0, _now() + HORIZON_MS)
    assert filed_again is False
    assert await index.recorded(entry.article_id) == canonical(entry.article_id)


async def test_a_late_write_never_brings_a_decided_duplicate_back_into_the_index(
    index: RedisIndex,
) -> None:
    entry = _entry(new_id())
    await _insert(index, entry)
    await _record(index, entry, Decision("duplicate", "A", 0.9, "near", "jaccard", "A"))
    assert await index.insert(entry, FEATS.buckets, 0, _now() + HORIZON_MS) is False
    assert await _candidates(index, new_id()) == []


async def test_one_look_up_for_many_articles_gives_each_its_own_candidates(
    index: RedisIndex,
) -> None:
    other_text = SEEDS[1].read_text(encoding="utf-8")
    other = features(other_text, None, SIGNER)
    first, second = _entry(new_id()), _entry(new_id(), other)
    generation = index.window.generation(_now())
    await index.insert(first, FEATS.buckets, generation, _now() + HORIZON_MS)
    await index.insert(second, other.buckets, generation, _now() + HORIZON_MS)
    queries = [Query(new_id(), FEATS.buckets, _now()), Query(new_id(), other.buckets, _now())]
    found = await index.candidates_all(queries, _now())
    assert [[e.article_id for e in entries] for entries in found] == [
        [first.article_id], [second.article_id]
    ]  # fmt: skip


async def test_a_bucket_shared_by_hundreds_of_articles_names_every_one(index: RedisIndex) -> None:
    placed = [
        Placed(new_id(), FEATS.buckets[:1], index.window.generation(_now())) for _ in range(300)
    ]
    await index.buckets.add(placed)
    [found] = await index.buckets.sharing_all([Query(new_id(), FEATS.buckets, _now())], _now())
    assert found == sorted(p.article_id for p in placed)


async def test_the_lsh_sets_are_named_by_generation_and_shard_and_expire_with_the_generation(
    index: RedisIndex,
) -> None:
    generation = index.window.generation(_now())
    await index.buckets.add([Placed(new_id(), FEATS.buckets, generation)])
    named = {
        index.keys.bucket(generation, int.from_bytes(b[:4], "big") % index.shards)
        for b in FEATS.buckets
    }
    assert {k.decode() for k in await index.redis.keys("nd:lsh:*")} == named
    expiry = index.window.generation_expiry_ms(generation)
    assert {await index.redis.pexpiretime(k) for k in named} == {expiry}


async def _add_after_the_set_lost_its_expiry(index: RedisIndex) -> str:
    """A set filled, its expiry removed (as if it had been lost and made anew), then added to."""
    generation = index.window.generation(_now())
    await index.buckets.add([Placed(new_id(), FEATS.buckets[:1], generation)])
    key = index.keys.bucket(generation, int.from_bytes(FEATS.buckets[0][:4], "big") % 16)
    await index.redis.persist(key)
    await index.buckets.add([Placed(new_id(), FEATS.buckets[:1], generation)])
    return key


async def test_a_process_writes_a_sets_expiry_once_not_with_every_member(
    index: RedisIndex,
) -> None:
    key = await _add_after_the_set_lost_its_expiry(index)
    assert await index.redis.pttl(key) == -1  # not written again


async def test_a_set_gets_its_expiry_again_once_the_refresh_time_has_passed(
    index: RedisIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(buckets, "EXPIRY_REFRESH_S", 0.0)
    key = await _add_after_the_set_lost_its_expiry(index)
    expiry = index.window.generation_expiry_ms(index.window.generation(_now()))
    assert await index.redis.pexpiretime(key) == expiry


async def test_an_article_filed_in_the_generation_before_is_still_a_candidate(
    index: RedisIndex,
) -> None:
    placed = Placed(new_id(), FEATS.buckets, index.window.generation(_now()) - 1)
    await index.buckets.add([placed])
    [found] = await index.buckets.sharing_all([Query(new_id(), FEATS.buckets, _now())], _now())
    assert found == [placed.article_id]


async def test_look_ups_searching_different_generations_at_once_each_get_their_own_candidates(
    index: RedisIndex,
) -> None:
    texts = [FEATS] + [features(s.read_text(encoding="utf-8"), None, SIGNER) for s in SEEDS[1:3]]
    generation = index.window.generation(_now())
    placed = [Placed(new_id(), f.buckets, generation) for f in texts]
    await index.buckets.add(placed)
    later = _now() + 3 * HORIZON_MS  # searches generations the others do not
    ingested = [_now(), later, _now()]
    queries = [Query(new_id(), f.buckets, at) for f, at in zip(texts, ingested, strict=True)]
    found = await index.buckets.sharing_all(queries, _now())
    assert found == [[p.article_id] for p in placed]
