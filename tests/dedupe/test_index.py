"""The Redis index's reads and writes, on fakeredis for speed (the engine tests use a real one)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import fakeredis
import pytest
import redis.asyncio as aioredis

from services.dedupe.decide import Decision
from services.dedupe.features import Features, features
from services.dedupe.index import RedisIndex
from services.dedupe.signature import SignatureParams, Signer
from shared.streams import Keys
from tests.conftest import SEEDS

SIGNER = Signer(SignatureParams(num_perm=128, seed=1, shingle_size=5, threshold=0.5))
TEXT = SEEDS[0].read_text(encoding="utf-8")
HORIZON = 3600


@pytest.fixture
async def index() -> AsyncIterator[RedisIndex]:
    client = fakeredis.FakeAsyncRedis()
    yield RedisIndex(client, Keys("nd"), SIGNER, HORIZON)
    await client.aclose()


async def _record(index: RedisIndex, article_id: str, feats: Features, decision: Decision) -> None:
    redis: aioredis.Redis = index.redis
    async with redis.pipeline(transaction=True) as pipe:
        index.record(pipe, article_id, feats, decision)
        await pipe.execute()


async def test_an_empty_index_has_no_evidence(index: RedisIndex) -> None:
    evidence = await index.evidence(features(TEXT, "https://a.example/1", SIGNER))
    assert (evidence.exact_owner, evidence.url_owner, evidence.candidates) == (None, None, [])


async def test_a_recorded_canonical_is_found_by_content_url_and_lsh(index: RedisIndex) -> None:
    feats = features(TEXT, "https://a.example/1", SIGNER)
    await _record(index, "A", feats, Decision("canonical", "A"))
    evidence = await index.evidence(feats)
    assert (evidence.exact_owner, evidence.url_owner) == ("A", "A")
    assert [c.article_id for c in evidence.candidates] == ["A"]


async def test_a_duplicate_does_not_enter_the_lsh_index(index: RedisIndex) -> None:
    feats = features(TEXT, None, SIGNER)
    await _record(index, "B", feats, Decision("duplicate", "A", 0.9, "near", "jaccard"))
    assert (await index.evidence(feats)).candidates == []


async def test_content_and_url_keep_their_first_owner(index: RedisIndex) -> None:
    feats = features(TEXT, "https://a.example/1", SIGNER)
    await _record(index, "A", feats, Decision("canonical", "A"))
    await _record(index, "C", feats, Decision("canonical", "C"))
    evidence = await index.evidence(feats)
    assert (evidence.exact_owner, evidence.url_owner) == ("A", "A")


async def test_every_index_key_expires_after_the_horizon(index: RedisIndex) -> None:
    await _record(
        index, "A", features(TEXT, "https://a.example/1", SIGNER), Decision("canonical", "A")
    )
    keys = await index.redis.keys("nd:*")
    assert len(keys) == 4 + SIGNER.bands  # verdict, exact, url, signature, one bucket per band
    for key in keys:
        assert 0 < await index.redis.ttl(key) <= HORIZON


async def test_a_recorded_decision_reads_back_unchanged(index: RedisIndex) -> None:
    decision = Decision("duplicate", "A", 0.87, "near", "jaccard")
    await _record(index, "B", features(TEXT, None, SIGNER), decision)
    assert await index.recorded("B") == decision
    assert await index.recorded("unknown") is None
