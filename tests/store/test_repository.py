"""Store persistence on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.store import repository
from services.store.db import ArticleRow, DuplicateRow, create_schema, make_engine, sessions
from tests.factories import raw_article, verdict

Factory = async_sessionmaker[Any]


@pytest.fixture
async def session_factory(database_url: str) -> AsyncIterator[async_sessionmaker[Any]]:
    engine = make_engine(database_url)
    await create_schema(engine)
    yield sessions(engine)
    await engine.dispose()


async def _save(factory: async_sessionmaker[Any], verdicts: list[Any]) -> None:
    async with factory() as session, session.begin():
        await repository.save_verdicts(session, verdicts)


async def test_saving_the_same_verdicts_twice_stores_them_once(session_factory: Factory) -> None:
    original = raw_article("Original text", source="wire")
    copy = raw_article("Copy text")
    batch = [verdict(original), verdict(copy, original.id, "near", 0.91)]
    await _save(session_factory, batch)
    await _save(session_factory, batch)
    async with session_factory() as session:
        articles = await session.scalar(select(func.count()).select_from(ArticleRow))
        duplicates = await session.scalar(select(func.count()).select_from(DuplicateRow))
    assert (articles, duplicates) == (2, 1)


async def test_stored_duplicate_reads_back_with_its_canonical_and_similarity(
    session_factory: Factory,
) -> None:
    original = raw_article("Original", url="https://a.example/1", title="T", source="wire")
    copy = raw_article("Copy")
    await _save(session_factory, [verdict(original), verdict(copy, original.id, "near", 0.91)])
    async with session_factory() as session:
        stored = await repository.get_article(session, copy.id)
        canonical = await repository.get_article(session, original.id)
    assert stored is not None and canonical is not None
    assert (stored.status, stored.canonical_id, stored.similarity, stored.reason) == (
        "duplicate", original.id, 0.91, "near",
    )  # fmt: skip
    assert (canonical.status, canonical.canonical_id, canonical.similarity, canonical.reason) == (
        "canonical", original.id, None, None,
    )  # fmt: skip
    assert canonical.ingested_at == original.ingested_at
    assert (canonical.title, canonical.source, canonical.url) == (
        "T",
        "wire",
        "https://a.example/1",
    )


async def test_duplicates_of_a_canonical_are_listed_in_ingest_order(
    session_factory: Factory,
) -> None:
    original = raw_article("Original")
    copies = [raw_article(f"Copy {i}") for i in range(3)]
    await _save(session_factory, [verdict(original)])
    await _save(session_factory, [verdict(c, original.id, "exact", 1.0) for c in reversed(copies)])
    async with session_factory() as session:
        listed = await repository.duplicates_of(session, original.id)
    assert [d.id for d in listed] == [c.id for c in copies]
    assert {d.reason for d in listed} == {"exact"}


async def test_listing_pages_newest_first_through_a_cursor(session_factory: Factory) -> None:
    articles = [raw_article(f"Text {i}") for i in range(5)]
    await _save(session_factory, [verdict(a) for a in articles])
    seen: list[str] = []
    cursor = None
    async with session_factory() as session:
        while True:
            items, cursor = await repository.list_articles(
                session, status=None, source=None, limit=2, cursor=cursor
            )
            seen.extend(i.id for i in items)
            if cursor is None:
                break
    assert seen == [a.id for a in reversed(articles)]


async def test_listing_filters_by_status_and_source(session_factory: Factory) -> None:
    a = raw_article("A", source="wire")
    b = raw_article("B", source="blog")
    c = raw_article("C", source="wire")
    await _save(session_factory, [verdict(a), verdict(b), verdict(c, a.id, "exact")])
    async with session_factory() as session:
        wire_canonical, _ = await repository.list_articles(
            session, status="canonical", source="wire", limit=10, cursor=None
        )
    assert [i.id for i in wire_canonical] == [a.id]


async def test_stats_count_duplicates_by_reason(session_factory: Factory) -> None:
    a = raw_article("A")
    dups = [verdict(raw_article(f"D{i}"), a.id, r) for i, r in enumerate(["exact", "near", "near"])]
    await _save(session_factory, [verdict(a), *dups])
    async with session_factory() as session:
        stats = await repository.stats(session)
    assert (stats.articles, stats.canonical, stats.duplicates) == (4, 1, 3)
    assert stats.duplicates_by_reason == {"exact": 1, "near": 2}


async def test_a_duplicate_reads_back_with_the_article_it_matched(session_factory: Factory) -> None:
    original = raw_article("Original")
    copy = raw_article("Copy of a copy")
    followed = verdict(copy, original.id, "near", 0.8, matched_id="01OTHERCOPY")
    await _save(session_factory, [verdict(original), followed])
    async with session_factory() as session:
        stored = await repository.get_article(session, copy.id)
    assert stored is not None
    assert (stored.canonical_id, stored.matched_id, stored.measure, stored.similarity) == (
        original.id, "01OTHERCOPY", "jaccard", 0.8,
    )  # fmt: skip


def _update(of: Any, text: str) -> Any:
    return verdict(raw_article(text, url=of.url), of.id, "update")


async def _texts(factory: Factory, article_id: str) -> tuple[str | None, list[str]]:
    async with factory() as session:
        article = await repository.get_article(session, article_id)
        versions = await repository.versions_of(session, article_id)
    return (article.text if article else None), [v.text for v in versions or []]


async def test_an_update_puts_the_newest_text_on_the_article_and_keeps_the_old_one(
    session_factory: Factory,
) -> None:
    original = raw_article("First text", url="https://a.example/story")
    await _save(session_factory, [verdict(original)])
    await _save(session_factory, [_update(original, "Corrected text")])
    assert await _texts(session_factory, original.id) == (
        "Corrected text", ["First text", "Corrected text"],
    )  # fmt: skip


async def test_an_update_stored_before_its_article_still_ends_on_the_article(
    session_factory: Factory,
) -> None:
    original = raw_article("First text", url="https://a.example/story")
    await _save(session_factory, [_update(original, "Corrected text")])
    await _save(session_factory, [verdict(original)])
    assert await _texts(session_factory, original.id) == (
        "Corrected text", ["First text", "Corrected text"],
    )  # fmt: skip


async def test_an_older_update_arriving_late_does_not_replace_a_newer_one(
    session_factory: Factory,
) -> None:
    original = raw_article("First text", url="https://a.example/story")
    second, third = _update(original, "Second text"), _update(original, "Third text")
    await _save(session_factory, [verdict(original), third])
    await _save(session_factory, [second])
    assert await _texts(session_factory, original.id) == (
        "Third text", ["First text", "Second text", "Third text"],
    )  # fmt: skip


async def test_an_article_never_updated_has_one_version(session_factory: Factory) -> None:
    original = raw_article("Only text")
    await _save(session_factory, [verdict(original)])
    assert await _texts(session_factory, original.id) == ("Only text", ["Only text"])


async def test_stats_count_updates_apart_from_articles(session_factory: Factory) -> None:
    original = raw_article("First text", url="https://a.example/story")
    await _save(session_factory, [verdict(original), _update(original, "Corrected")])
    async with session_factory() as session:
        stats = await repository.stats(session)
    assert (stats.articles, stats.updates) == (1, 1)


async def test_stories_list_their_coverage_counts_and_newest_terms(
    session_factory: Factory,
) -> None:
    first, second, copy = raw_article("A"), raw_article("B"), raw_article("B again")
    other = raw_article("C")
    await _save(session_factory, [
        verdict(first, story_terms=["rubio"]),
        verdict(second, story_id=first.id, story_terms=["rubio", "lawrow"]),
        verdict(copy, second.id, "exact", story_id=first.id),
        verdict(other, story_terms=["kane"]),
    ])  # fmt: skip
    async with session_factory() as session:
        stories = await repository.list_stories(session, since=None, limit=10)
    by_id = {s.story_id: s for s in stories}
    assert (by_id[first.id].articles, by_id[first.id].duplicates) == (2, 1)
    assert by_id[first.id].top_terms == ["rubio", "lawrow"]
    assert [s.story_id for s in stories] == [other.id, first.id]  # most recently active first


async def test_stories_since_a_time_leave_out_quieter_ones(session_factory: Factory) -> None:
    old, new = raw_article("A"), raw_article("B")
    await _save(session_factory, [verdict(old), verdict(new)])
    async with session_factory() as session:
        stories = await repository.list_stories(session, since=new.ingested_at, limit=10)
    assert [s.story_id for s in stories] == [new.id]


async def test_a_story_shows_its_canonical_articles_with_their_duplicates(
    session_factory: Factory,
) -> None:
    first, second, copy = raw_article("A"), raw_article("B"), raw_article("B again")
    await _save(session_factory, [
        verdict(first), verdict(second, story_id=first.id),
        verdict(copy, second.id, "near", 0.9, story_id=first.id),
    ])  # fmt: skip
    async with session_factory() as session:
        story = await repository.get_story(session, first.id)
        missing = await repository.get_story(session, "01NOSUCHSTORY")
    assert story is not None and missing is None
    assert [(a.id, [d.id for d in a.duplicates]) for a in story.coverage] == [
        (first.id, []), (second.id, [copy.id]),
    ]  # fmt: skip


async def test_a_story_is_headed_by_its_earliest_canonical_article_and_counts_its_outlets(
    session_factory: Factory,
) -> None:
    first = raw_article("Erster Satz der Meldung. Zweiter Satz.\nMehr.", source="dpa")
    second = raw_article("Andere Meldung.", title="Mit Titel", source="afp")
    copies = [raw_article("Kopie", source=s) for s in ("regional", "dpa", None)]
    await _save(session_factory, [
        verdict(first), verdict(second, story_id=first.id),
        *(verdict(c, first.id, "exact", story_id=first.id) for c in copies),
    ])  # fmt: skip
    async with session_factory() as session:
        [listed] = await repository.list_stories(session, since=None, limit=10)
        story = await repository.get_story(session, first.id)
    assert (listed.headline, listed.articles, listed.outlets) == (
        "Erster Satz der Meldung.", 2, 3,  # dpa, afp, regional; no source is no outlet
    )  # fmt: skip
    assert story is not None and story.headline == listed.headline
    assert [a.headline for a in story.coverage] == ["Erster Satz der Meldung.", "Mit Titel"]


def test_a_database_that_refuses_connections_is_an_outage_not_a_poison_message() -> None:
    from sqlalchemy.exc import DataError, DBAPIError, OperationalError

    from services.store.db import database_outage

    class Refused(Exception):
        sqlstate = "55000"  # PostgreSQL: database is not currently accepting connections

    class BadValue(Exception):
        sqlstate = "22021"  # PostgreSQL: character not in repertoire (a NUL byte)

    assert database_outage(DBAPIError("INSERT", {}, Refused()))
    assert database_outage(OperationalError("INSERT", {}, Exception("database is locked")))
    assert not database_outage(DBAPIError("INSERT", {}, BadValue()))
    assert not database_outage(DataError("INSERT", {}, Exception("value too long")))
    assert not database_outage(ValueError("a bug of ours"))
