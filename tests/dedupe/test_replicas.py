"""Replicas share the text work and one of them judges: near-duplicate pairs posted at once to
a stack of three dedupe replicas end as one canonical article and its duplicate each, the
earlier-ingested one canonical, every article published once."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from services.cli.stack import Stack
from shared.ids import new_id
from shared.models import RawArticle, Verdict
from shared.settings import Settings
from shared.streams import decode, encode
from tests.conftest import isolated_settings
from tests.factories import raw_article
from tests.waiting import wait_until


def _pairs(count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    vocabulary = [f"wort{i}" for i in range(20_000)]
    pairs = []
    for n in range(count):
        words = rng.choices(vocabulary, k=160)
        copy = list(words)
        if n % 2:  # light edits: three words changed
            for position in rng.sample(range(len(copy)), 3):
                copy[position] = rng.choice(vocabulary)
        pairs.append((" ".join(words), " ".join(copy)))
    return pairs


@pytest.fixture
def three_replicas(redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    settings = isolated_settings(redis_url, tmp_path / "data", batch_size=10)
    stack = Stack(settings)
    try:
        stack.start_redis()
        for replica in range(3):
            stack.start_service("dedupe", replica=replica)
        yield settings
    finally:
        stack.stop()


def test_three_replicas_judge_every_pair_with_the_earlier_article_canonical(
    three_replicas: Settings,
) -> None:
    settings = three_replicas
    client = redis.Redis.from_url(settings.redis_url or "")
    articles = post_pairs(client, settings, 150)
    in_order, _ = assert_one_canonical_per_pair(client, settings, articles)
    client.close()
    assert all(in_order)  # the judge reads the stream in order: the earlier one always wins


def post_pairs(
    client: redis.Redis, settings: Settings, count: int
) -> list[tuple[RawArticle, RawArticle]]:
    """``count`` near-duplicate pairs, each pair's articles adjacent on the raw stream (or on two
    of its partitions); every third pair later-ingested first."""
    streams = settings.raw_streams
    articles: list[tuple[RawArticle, RawArticle]] = []
    pipe = client.pipeline(transaction=False)
    for n, (text, copy) in enumerate(_pairs(count, seed=5)):
        earlier = raw_article(text, id=new_id())
        later = raw_article(copy, id=new_id())
        articles.append((earlier, later))
        for k, article in enumerate((later, earlier) if n % 3 == 0 else (earlier, later)):
            pipe.xadd(streams[(n + k) % len(streams)], encode(article))
    pipe.execute()
    return articles


def assert_one_canonical_per_pair(
    client: redis.Redis, settings: Settings, articles: list[tuple[RawArticle, RawArticle]]
) -> tuple[list[bool], list[bool]]:
    """Every article published once, one canonical per pair, the other its duplicate; whether
    the earlier article won, for the pairs posted in order and for those posted later-first."""

    def verdicts() -> list[Verdict]:
        return [
            decode(Verdict, fields)
            for stream in (settings.stream_canonical, settings.stream_duplicates)
            for _, fields in client.xrange(stream)
        ]

    total = 2 * len(articles)
    published = wait_until(verdicts, lambda v: len(v) >= total, timeout=120)
    by_id = {v.id: v for v in published}
    assert len(published) == len(by_id) == total  # every article published exactly once
    for earlier, later in articles:
        statuses = (by_id[earlier.id].status, by_id[later.id].status)
        assert sorted(statuses) == ["canonical", "duplicate"], (earlier.id, later.id)
        winner = earlier if statuses[0] == "canonical" else later
        loser = later if winner is earlier else earlier
        assert by_id[loser.id].canonical_id == winner.id
    earlier_won = [by_id[e.id].status == "canonical" for e, _ in articles]
    in_order = [won for n, won in enumerate(earlier_won) if n % 3]
    reversed_ = [won for n, won in enumerate(earlier_won) if n % 3 == 0]
    print(
        f"earlier-ingested article canonical: {sum(in_order)}/{len(in_order)} pairs in ingest "
        f"order, {sum(reversed_)}/{len(reversed_)} pairs posted later-first"
    )
    return in_order, reversed_
