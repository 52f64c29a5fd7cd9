"""On a cluster a decision is recorded with its verdict before the verdict is published: a
consumer that dies in between leaves the verdict in the article's outbox, and whoever handles
the article next publishes it before acking."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from services.dedupe.app import engine_for
from services.dedupe.decide import State, canonical
from services.dedupe.engine import DedupeEngine, Pending, verdict_for
from services.dedupe.outbox import Outgoing, Record
from services.dedupe.story_index import decode_story
from shared.consumer import Delivery
from shared.ids import id_time_ms
from shared.models import RawArticle, Verdict
from shared.redis import async_client
from shared.settings import Settings
from shared.streams import DEDUPE_GROUP, decode, encode
from tests.conftest import SEEDS, isolated_settings
from tests.factories import raw_article


@pytest.fixture
def settings(cluster_url: str, tmp_path: Path) -> Settings:
    return isolated_settings(cluster_url, tmp_path)


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[DedupeEngine]:
    assert settings.redis_url
    client = async_client(settings.redis_url)
    await client.xgroup_create(settings.stream_raw, DEDUPE_GROUP, id="0", mkstream=True)
    yield engine_for(client, settings)
    await client.aclose()


async def _delivered(engine: DedupeEngine, article: RawArticle) -> Delivery[RawArticle]:
    stream = engine.settings.stream_raw
    await engine.redis.xadd(stream, encode(article))
    [[_, [(message_id, _)]]] = await engine.redis.xreadgroup(DEDUPE_GROUP, "w", {stream: ">"})
    return Delivery(stream, DEDUPE_GROUP, message_id.decode(), article)


async def _record_without_publishing(engine: DedupeEngine, pending: Pending) -> None:
    """What a consumer that died right after recording its decision leaves behind."""
    article, filed = pending.delivery.item, pending.filed
    decision = canonical(article.id)
    outgoing = Outgoing(
        stream=engine.settings.stream_canonical,
        verdict=verdict_for(article, decision, article.id, []),
    )
    assert engine.outbox is not None
    record = Record(article.id, True, engine.index.final_record(filed.entry, decision),
                    filed.expiry_ms, None, 0, outgoing)  # fmt: skip
    assert await engine.outbox.record_all([record]) == [True]


async def _published(engine: DedupeEngine) -> list[str]:
    entries = await engine.redis.xrange(engine.settings.stream_canonical)
    return [decode(Verdict, fields).id for _, fields in entries]


async def _pending_entries(engine: DedupeEngine) -> int:
    info = await engine.redis.xpending(engine.settings.stream_raw, DEDUPE_GROUP)
    return int(info["pending"])


async def test_a_redelivered_article_publishes_the_verdict_its_dead_consumer_recorded(
    engine: DedupeEngine,
) -> None:
    article = raw_article(SEEDS[0].read_text(encoding="utf-8"))
    delivery = await _delivered(engine, article)
    pending = await engine.prepare(delivery)
    assert isinstance(pending, Pending)
    await _record_without_publishing(engine, pending)
    decision = await engine.judge(delivery)  # the redelivery
    assert (decision.status, await _published(engine)) == ("canonical", [article.id])
    assert await _pending_entries(engine) == 0


async def test_a_commit_that_finds_the_article_recorded_meanwhile_publishes_that_verdict(
    engine: DedupeEngine,
) -> None:
    article = raw_article(SEEDS[1].read_text(encoding="utf-8"))
    pending = await engine.prepare(await _delivered(engine, article))
    assert isinstance(pending, Pending)
    await _record_without_publishing(engine, pending)  # another consumer, which then died
    decision = await engine.finish(pending)
    assert (decision.status, await _published(engine)) == ("canonical", [article.id])
    assert await _pending_entries(engine) == 0


async def test_a_canonical_article_settled_here_is_known_without_reading_its_story_member(
    engine: DedupeEngine,
) -> None:
    article = raw_article(SEEDS[0].read_text(encoding="utf-8"))
    await engine.judge(await _delivered(engine, article))
    await engine.redis.delete(engine.index.keys.story_member(article.id))  # not read: known
    members = await engine.stories.members([article.id], id_time_ms(article.id))
    assert (members[article.id].state, members[article.id].story_id) == (
        State.CANONICAL, article.id,
    )  # fmt: skip


async def test_a_story_record_another_consumer_changed_meanwhile_is_settled_again(
    engine: DedupeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = (raw_article(seed.read_text(encoding="utf-8")) for seed in SEEDS[:2])
    await engine.judge(await _delivered(engine, first))
    read_records = engine.stories.records

    async def read_then_joined_by_another(story_ids: Sequence[str]) -> list[bytes | None]:
        """Another consumer's article joins the story just after this one read it."""
        records = await read_records(story_ids)
        monkeypatch.setattr(engine.stories, "records", read_records)
        for raw in records:
            assert raw is not None
            story = decode_story(raw)
            await engine.stories.replace_all([(replace(story, members=story.members + 1), raw)], 0)
        return records

    monkeypatch.setattr(engine.stories, "records", read_then_joined_by_another)
    await engine.judge(await _delivered(engine, second))
    stories = await engine.stories.stories_of([second.id], id_time_ms(second.id))
    [raw] = await engine.stories.records([first.id])
    assert raw is not None
    assert (stories[second.id], decode_story(raw).members) == (first.id, 3)  # with the other's
