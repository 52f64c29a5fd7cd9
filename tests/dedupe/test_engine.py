"""The dedupe engine against a real Redis: verdicts, the shared index, redelivery."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY
from redis.asyncio.client import Pipeline

from services.dedupe.app import engine_for, index_for, verification_params
from services.dedupe.decide import Decision, Entry, State
from services.dedupe.engine import DedupeEngine
from services.dedupe.filing import FilingOrder, Turn
from services.dedupe.index import Filed, Filing, IndexMismatch, LineCounts, RedisIndex
from services.republish import republished
from shared.consumer import Delivery
from shared.ids import id_time_ms
from shared.models import RawArticle, Verdict
from shared.settings import Settings
from shared.streams import DEDUPE_GROUP, decode, encode
from tests.conftest import SEEDS, isolated_settings
from tests.factories import raw_article
from tests.waiting import eventually


def _index(redis: aioredis.Redis, settings: Settings) -> RedisIndex:
    return index_for(redis, settings)


@pytest.fixture
async def engine(redis: aioredis.Redis, settings: Settings) -> DedupeEngine:
    await redis.xgroup_create(settings.stream_raw, DEDUPE_GROUP, id="0", mkstream=True)
    return engine_for(redis, settings)


async def _deliver(
    redis: aioredis.Redis, settings: Settings, article: RawArticle, consumer: str = "test"
) -> Delivery[RawArticle]:
    await redis.xadd(settings.stream_raw, encode(article))
    [[_, entries]] = await redis.xreadgroup(
        DEDUPE_GROUP, consumer, {settings.stream_raw: ">"}, count=1
    )
    message_id = entries[0][0].decode()
    return Delivery(settings.stream_raw, DEDUPE_GROUP, message_id, article)


async def _judge(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings, article: RawArticle
) -> Decision:
    return await engine.judge(await _deliver(redis, settings, article))


async def _published(redis: aioredis.Redis, stream: str) -> list[Verdict]:
    return [decode(Verdict, fields) for _, fields in await redis.xrange(stream)]


SEED_TEXT = SEEDS[0].read_text(encoding="utf-8")


async def test_first_article_is_canonical_and_published_as_such(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    article = raw_article(SEED_TEXT)
    decision = await _judge(engine, redis, settings, article)
    assert (decision.status, decision.canonical_id) == ("canonical", article.id)
    [published] = await _published(redis, settings.stream_canonical)
    assert (published.id, published.status, published.text) == (article.id, "canonical", SEED_TEXT)


async def test_exact_copy_is_an_exact_duplicate_of_the_first(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    first = raw_article(SEED_TEXT, url="https://a.example/1")
    copy = raw_article(SEED_TEXT, url="https://b.example/2")
    await _judge(engine, redis, settings, first)
    decision = await _judge(engine, redis, settings, copy)
    assert (decision.status, decision.canonical_id, decision.reason) == (
        "duplicate",
        first.id,
        "exact",
    )
    [published] = await _published(redis, settings.stream_duplicates)
    assert (published.id, published.canonical_id, published.reason) == (copy.id, first.id, "exact")


async def test_same_canonical_url_with_other_text_is_an_update_of_the_first(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    first = raw_article("Eine Meldung über Riad.", url="https://a.example/story")
    second = raw_article("Ganz andere Worte hier.", url="https://a.example/story")
    await _judge(engine, redis, settings, first)
    decision = await _judge(engine, redis, settings, second)
    assert (decision.status, decision.canonical_id, decision.reason, decision.matched_id) == (
        "duplicate", first.id, "update", first.id,
    )  # fmt: skip


async def test_same_canonical_url_with_the_same_text_is_an_exact_duplicate(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    first = raw_article(SEED_TEXT, url="https://a.example/story")
    again = raw_article(SEED_TEXT.replace("\n", "\n\n"), url="https://a.example/story")
    await _judge(engine, redis, settings, first)
    decision = await _judge(engine, redis, settings, again)
    assert (decision.canonical_id, decision.reason) == (first.id, "exact")


async def test_republished_copy_is_a_near_duplicate_with_its_similarity(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    first = raw_article(SEED_TEXT)
    copy = raw_article(republished(SEED_TEXT, 1))
    await _judge(engine, redis, settings, first)
    decision = await _judge(engine, redis, settings, copy)
    assert (decision.canonical_id, decision.reason, decision.measure) == (
        first.id,
        "near",
        "jaccard",
    )
    assert decision.similarity is not None and decision.similarity >= settings.threshold


def _first_part(text: str, fraction: float) -> str:
    words = text.split(" ")
    return " ".join(words[: round(len(words) * fraction)])


async def test_a_teaser_keeping_the_first_40_percent_is_a_duplicate_by_containment(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    full = raw_article(SEED_TEXT)
    await _judge(engine, redis, settings, full)
    decision = await _judge(engine, redis, settings, raw_article(_first_part(SEED_TEXT, 0.4)))
    assert (decision.canonical_id, decision.reason, decision.measure) == (
        full.id, "near", "containment",
    )  # fmt: skip


async def test_a_local_copy_with_its_own_paragraphs_added_is_a_duplicate(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    wire = raw_article(SEED_TEXT)
    await _judge(engine, redis, settings, wire)
    own_paragraphs = "\n\n".join(p.read_text(encoding="utf-8") for p in SEEDS[1:])
    local = SEED_TEXT + "\n\n" + own_paragraphs  # more than doubles the text
    decision = await _judge(engine, redis, settings, raw_article(local))
    assert (decision.canonical_id, decision.measure) == (wire.id, "containment")


async def test_german_spelling_variants_are_an_exact_duplicate(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    first = raw_article(SEED_TEXT)
    await _judge(engine, redis, settings, first)
    variant = SEED_TEXT.replace("ä", "ae").replace("ß", "ss").replace("„", '"').replace("“", '"')
    decision = await _judge(engine, redis, settings, raw_article(variant))
    assert (decision.canonical_id, decision.reason) == (first.id, "exact")


async def test_header_lines_that_recur_in_a_source_are_ignored(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    header = "Kreisblatt Oberland · Ihre Zeitung für die Region\nAusgabe Nord | Politik\n"
    for path in SEEDS[1:4]:  # the source's earlier articles teach it its header
        text = header + path.read_text(encoding="utf-8")
        await _judge(engine, redis, settings, raw_article(text, source="kreisblatt"))
    wire = raw_article(SEED_TEXT)
    await _judge(engine, redis, settings, wire)
    decision = await _judge(
        engine, redis, settings, raw_article(header + SEED_TEXT, source="kreisblatt")
    )
    assert (decision.canonical_id, decision.reason) == (wire.id, "exact")


async def test_a_copy_of_a_duplicate_points_at_the_canonical(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    first = raw_article(SEED_TEXT)
    copy = raw_article(republished(SEED_TEXT, 1))
    copy_of_copy = raw_article(copy.text)
    for article in (first, copy):
        await _judge(engine, redis, settings, article)
    decision = await _judge(engine, redis, settings, copy_of_copy)
    assert (decision.canonical_id, decision.matched_id) == (first.id, first.id)


async def test_the_five_seeds_stay_canonical(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    for path in SEEDS:
        decision = await _judge(
            engine, redis, settings, raw_article(path.read_text(encoding="utf-8"))
        )
        assert decision.status == "canonical", path.name


async def test_judging_a_redelivered_article_repeats_the_verdict_without_publishing_again(
    engine: DedupeEngine,
    redis: aioredis.Redis,
    settings: Settings,
) -> None:
    first = raw_article(SEED_TEXT)
    copy = raw_article(SEED_TEXT)
    await _judge(engine, redis, settings, first)
    delivery = await _deliver(redis, settings, copy)
    again = [await engine.judge(delivery), await engine.judge(delivery)]
    assert again[0] == again[1]
    assert len(await _published(redis, settings.stream_duplicates)) == 1


async def test_the_raw_entry_is_acked_with_the_verdict(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    await _judge(engine, redis, settings, raw_article(SEED_TEXT))
    assert (await redis.xpending(settings.stream_raw, DEDUPE_GROUP))["pending"] == 0


async def test_index_refuses_a_process_with_other_parameters(
    redis: aioredis.Redis, settings: Settings
) -> None:
    await _index(redis, settings).claim_params()
    other = settings.model_copy(update={"num_perm": 64})
    with pytest.raises(IndexMismatch, match="num_perm: index has 128, this process 64"):
        await _index(redis, other).claim_params()


async def test_index_built_over_xxh32_shingle_hashes_refuses_this_version(
    redis: aioredis.Redis, settings: Settings
) -> None:
    index = _index(redis, settings)
    await redis.hset(index.keys.index_params(), "scheme", "affine32")  # an older index's value
    with pytest.raises(IndexMismatch, match="scheme: index has affine32, this process affine32/"):
        await index.claim_params()


async def test_index_accepts_a_process_with_the_same_parameters(
    redis: aioredis.Redis, settings: Settings
) -> None:
    await _index(redis, settings).claim_params()
    await _index(redis, settings).claim_params()


async def test_an_article_leaves_the_index_after_the_horizon_and_a_copy_is_canonical_again(
    redis: aioredis.Redis, settings: Settings
) -> None:
    short = settings.model_copy(update={"index_horizon_days": 1.0 / 86400})  # one second
    await redis.xgroup_create(short.stream_raw, DEDUPE_GROUP, id="0", mkstream=True)
    engine = engine_for(redis, short)
    first = raw_article(SEED_TEXT)
    await _judge(engine, redis, short, first)
    entry = engine.index.keys.entry(first.id)
    await eventually(lambda: redis.exists(entry), lambda exists: exists == 0, timeout=10)
    decision = await _judge(engine, redis, short, raw_article(SEED_TEXT))
    assert decision.status == "canonical"


async def test_index_refuses_a_process_with_other_thresholds(
    redis: aioredis.Redis, settings: Settings
) -> None:
    await _index(redis, settings).claim_params(verification_params(settings))
    other = settings.model_copy(update={"threshold": 0.7})
    with pytest.raises(IndexMismatch, match=r"threshold: index has 0\.5, this process 0\.7"):
        await _index(redis, other).claim_params(verification_params(other))


SPORTS = (
    "Bayern Munich beat Borussia Dortmund 3-1 in the Bundesliga on Saturday. Harry Kane scored "
    "twice at the Allianz Arena before Jamal Musiala added a third goal late in the second half, "
    "and coach Vincent Kompany praised the defence after a difficult week for the club."
)


async def _story_of(engine: DedupeEngine, redis: aioredis.Redis, settings: Settings,
                    text: str, **extra: object) -> str:  # fmt: skip
    await _judge(engine, redis, settings, raw_article(text, **extra))
    [*_, last] = await _published(redis, settings.stream_canonical) + await _published(
        redis, settings.stream_duplicates
    )
    return last.story_id


async def test_the_five_seeds_end_in_one_story(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    for path in SEEDS:
        await _judge(engine, redis, settings, raw_article(path.read_text(encoding="utf-8")))
    published = await _published(redis, settings.stream_canonical)
    assert len(published) == 5
    assert {v.story_id for v in published} == {published[0].id}
    assert "russland" in published[-1].story_terms


async def test_an_article_about_something_else_opens_its_own_story(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    await _judge(engine, redis, settings, raw_article(SEED_TEXT))
    other = raw_article(SPORTS)
    await _judge(engine, redis, settings, other)
    stories = {v.id: v.story_id for v in await _published(redis, settings.stream_canonical)}
    assert stories[other.id] == other.id


async def test_a_duplicate_is_in_its_canonical_articles_story(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    first, second = (raw_article(p.read_text(encoding="utf-8")) for p in SEEDS[:2])
    await _judge(engine, redis, settings, first)
    await _judge(engine, redis, settings, second)  # joins the first one's story
    await _judge(engine, redis, settings, raw_article(republished(second.text, 3)))
    [copy] = await _published(redis, settings.stream_duplicates)
    assert (copy.canonical_id, copy.story_id) == (second.id, first.id)


async def test_a_published_verdict_is_counted_by_status_and_reason(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    labels = {"status": "duplicate", "reason": "exact"}
    before = REGISTRY.get_sample_value("newsdedup_verdicts_total", labels) or 0.0
    await _judge(engine, redis, settings, raw_article(SEED_TEXT))
    await _judge(engine, redis, settings, raw_article(SEED_TEXT))
    assert REGISTRY.get_sample_value("newsdedup_verdicts_total", labels) == before + 1


async def test_an_article_without_content_terms_is_judged_canonical(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    article = raw_article("Ja, so ist es.")
    decision = await _judge(engine, redis, settings, article)
    assert (decision.status, decision.canonical_id) == ("canonical", article.id)


async def test_a_copy_in_the_same_batch_as_its_original_is_its_duplicate(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    first, copy = raw_article(SEED_TEXT), raw_article("Quelle: dpa\n" + SEED_TEXT)
    batch = [await _deliver(redis, settings, a) for a in (copy, first)]  # order on the stream
    decisions, failures = await engine.run(batch)
    assert failures == {}
    by_article = {d.item.id: decisions[d.message_id] for d in batch}
    assert (by_article[first.id].status, by_article[copy.id].status) == ("canonical", "duplicate")
    assert by_article[copy.id].canonical_id == first.id


async def test_a_batch_of_nothing_but_duplicates_is_judged(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    first = raw_article(SEED_TEXT)
    await _judge(engine, redis, settings, first)
    copies = [raw_article(SEED_TEXT) for _ in range(3)]
    decisions, failures = await engine.run([await _deliver(redis, settings, c) for c in copies])
    assert failures == {}
    assert {(d.status, d.canonical_id) for d in decisions.values()} == {("duplicate", first.id)}


async def test_a_canonical_article_settled_here_is_known_without_reading_its_story_member(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    article = raw_article(SEED_TEXT)
    await _judge(engine, redis, settings, article)
    await redis.delete(engine.index.keys.story_member(article.id))  # not read: still known
    members = await engine.stories.members([article.id], id_time_ms(article.id))
    assert (members[article.id].state, members[article.id].story_id) == (
        State.CANONICAL, article.id,
    )  # fmt: skip


@pytest.fixture
async def engine_with_long_grace(
    redis: aioredis.Redis, redis_url: str, tmp_path: Path
) -> DedupeEngine:
    settings = isolated_settings(redis_url, tmp_path / "data", settle_ms=10_000)
    await redis.xgroup_create(settings.stream_raw, DEDUPE_GROUP, id="0", mkstream=True)
    return engine_for(redis, settings)


def _graces_entered(engine: DedupeEngine, hold: bool = False) -> list[str]:
    """The articles that go on to the grace before their second look, seen without timing
    anything; with ``hold``, each then waits there until the test ends."""
    entered: list[str] = []

    async def grace(article_id: str) -> None:
        entered.append(article_id)
        if hold:
            await asyncio.Event().wait()

    engine._before_second_look = grace  # type: ignore[method-assign]
    return entered


async def _listed(items: list[str]) -> list[str]:
    return list(items)


async def test_a_replica_reading_the_stream_alone_judges_a_first_version_without_the_grace(
    engine_with_long_grace: DedupeEngine, redis: aioredis.Redis
) -> None:
    engine = engine_with_long_grace
    graces = _graces_entered(engine)
    article = raw_article(SEED_TEXT)
    mine = await _deliver(redis, engine.settings, article, engine.settings.consumer_name)
    decision = await engine.judge(mine)
    assert (decision.status, decision.canonical_id) == ("canonical", article.id)
    assert graces == []


async def test_while_another_replica_reads_the_stream_a_first_version_waits_the_grace(
    engine_with_long_grace: DedupeEngine, redis: aioredis.Redis
) -> None:
    engine = engine_with_long_grace
    await _deliver(redis, engine.settings, raw_article("another replica took this one"), "other")
    mine = await _deliver(
        redis, engine.settings, raw_article(SEED_TEXT), engine.settings.consumer_name
    )
    graces = _graces_entered(engine, hold=True)
    judging = asyncio.ensure_future(engine.judge(mine))
    await eventually(lambda: _listed(graces), lambda g: g == [mine.item.id])
    assert not judging.done(), "judged canonical while another replica may file an earlier copy"
    judging.cancel()


class _Watched(FilingOrder):
    """Tells when a batch after the first waits for its turn to file."""

    def __init__(self, waiting: asyncio.Event) -> None:
        super().__init__()
        self.waiting = waiting
        self.taken = 0

    def next(self) -> Turn:
        turn = super().next()
        self.taken += 1
        if self.taken == 1:
            return turn
        waiting = self.waiting

        class Told(Turn):
            async def wait(self) -> None:
                waiting.set()
                await super().wait()

        return Told(turn.before, turn.mine)


async def test_batches_judged_at_once_file_in_the_order_they_were_read(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    earlier, later = raw_article(SEED_TEXT), raw_article("Quelle: dpa\n" + SEED_TEXT)
    # Read by this replica alone: nobody else files anything, so it gives no settle grace.
    first, second = [
        await _deliver(redis, settings, a, settings.consumer_name) for a in (earlier, later)
    ]
    # The earlier article's batch stalls before filing until the later one's batch is under
    # way: waiting for its turn to file, or (were there no turns) committing its verdict.
    later_under_way = asyncio.Event()
    engine.filing = _Watched(later_under_way)
    file_all, record = engine.index.file_all, engine.index.record

    async def stalled(filings: Sequence[Filing], lines: LineCounts | None = None) -> list[Filed]:
        if any(f.entry.article_id == earlier.id for f in filings):
            await later_under_way.wait()
        return await file_all(filings, lines)

    async def recording(pipe: Pipeline, entry: Entry, *rest: Any) -> None:
        if entry.article_id == later.id:
            later_under_way.set()
        await record(pipe, entry, *rest)

    engine.index.file_all = stalled  # type: ignore[method-assign]
    engine.index.record = recording  # type: ignore[method-assign]
    judged = await asyncio.wait_for(asyncio.gather(engine.judge(first), engine.judge(second)), 10)
    assert [(d.status, d.canonical_id) for d in judged] == [
        ("canonical", earlier.id), ("duplicate", earlier.id),
    ]  # fmt: skip


async def test_a_replica_that_finds_itself_reading_alone_lets_its_batches_overlap(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    mine = await _deliver(redis, settings, raw_article(SEED_TEXT), settings.consumer_name)
    await engine.judge(mine)
    assert engine.reads_alone


async def test_a_replica_beside_another_does_not_let_its_batches_overlap(
    engine: DedupeEngine, redis: aioredis.Redis, settings: Settings
) -> None:
    await _deliver(redis, settings, raw_article("another replica took this one"), "other")
    mine = await _deliver(redis, settings, raw_article(SEED_TEXT), settings.consumer_name)
    await engine.judge(mine)
    assert not engine.reads_alone
