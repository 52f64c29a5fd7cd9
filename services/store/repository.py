"""Reads and idempotent writes of verdicts; the only module that issues SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, distinct, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.store.db import ArticleRow, DuplicateRow, VersionRow
from services.store.headline import headline
from services.store.schemas import (
    DuplicateOut,
    Stats,
    StoredArticle,
    StoryArticle,
    StoryDetail,
    StorySummary,
    VersionOut,
)
from shared.models import Verdict

_DUPLICATE_FIELDS = {"canonical_id", "similarity", "reason", "measure", "matched_id"}
_VERSION_FIELDS = {"url", "title", "ingested_at", "text", "content_sha256"}


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def save_verdicts(session: AsyncSession, verdicts: Sequence[Verdict]) -> None:
    """Insert-or-ignore: a redelivered verdict leaves the rows exactly as they were.

    An ``update`` (changed text under a known canonical URL) is no article of its own: it is
    a version of the article first posted there, whose row then holds the newest text.
    """
    if not verdicts:
        return
    updates = [v for v in verdicts if v.reason == "update" and v.matched_id]
    articles = [v for v in verdicts if v not in updates]
    touched = {v.matched_id or v.id for v in updates} | {v.id for v in articles}
    await _lock_articles(session, touched)
    if articles:
        columns = set(ArticleRow.__table__.columns.keys())
        rows = [v.model_dump(include=columns) | {"version_id": v.id} for v in articles]
        await session.execute(_insert(session, ArticleRow).on_conflict_do_nothing(), rows)
        duplicates = [
            {"article_id": v.id, **v.model_dump(include=_DUPLICATE_FIELDS)}
            for v in articles
            if v.status == "duplicate"
        ]
        if duplicates:
            statement = _insert(session, DuplicateRow).on_conflict_do_nothing()
            await session.execute(statement, duplicates)
    if updates:
        versions = [
            {
                "version_id": v.id,
                "article_id": v.matched_id,
                **v.model_dump(include=_VERSION_FIELDS),
            }
            for v in updates
        ]
        await session.execute(_insert(session, VersionRow).on_conflict_do_nothing(), versions)
    # Verdicts of one article's versions may arrive in any order, and before the article's own.
    await _show_newest_versions(session, touched)


async def _lock_articles(session: AsyncSession, article_ids: set[str]) -> None:
    """An article and its updates arrive on different streams, written by concurrent
    transactions; each must see the other's rows, so writes touching one article take turns.
    PostgreSQL: a transaction-scoped advisory lock per article (in id order, so two writers
    cannot deadlock). SQLite has one writer at a time already (and ``VerdictWriter`` serialises
    a process's batches)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for article_id in sorted(article_ids):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:id))"), {"id": article_id}
        )


async def _show_newest_versions(session: AsyncSession, article_ids: set[str]) -> None:
    newest = await session.execute(
        select(VersionRow.article_id, func.max(VersionRow.version_id))
        .where(VersionRow.article_id.in_(article_ids))
        .group_by(VersionRow.article_id)
    )
    for article_id, version_id in newest.all():
        row = await session.get(ArticleRow, article_id)
        if row is None or version_id <= row.version_id:
            continue
        replaced = {f: getattr(row, f) for f in _VERSION_FIELDS}  # kept as history
        await session.execute(
            _insert(session, VersionRow).on_conflict_do_nothing(),
            [{"version_id": row.version_id, "article_id": row.id, **replaced}],
        )
        version = await session.get(VersionRow, version_id)
        assert version is not None
        for field in _VERSION_FIELDS - {"ingested_at"}:
            setattr(row, field, getattr(version, field))
        row.version_id = version_id
    await session.flush()


async def versions_of(session: AsyncSession, article_id: str) -> list[VersionOut] | None:
    """Every text the article had, oldest first; None if there is no such article."""
    row = await session.get(ArticleRow, article_id)
    if row is None:
        return None
    result = await session.execute(
        select(VersionRow)
        .where(VersionRow.article_id == article_id)
        .order_by(VersionRow.version_id)
    )
    rows = result.scalars().all()
    if not rows:
        return [VersionOut(version_id=row.id, **{f: getattr(row, f) for f in _VERSION_FIELDS})]
    return [
        VersionOut(version_id=v.version_id, **{f: getattr(v, f) for f in _VERSION_FIELDS})
        for v in rows
    ]


async def version_parent(session: AsyncSession, version_id: str) -> str | None:
    """The article a posted update became a version of."""
    row = await session.get(VersionRow, version_id)
    return row.article_id if row else None


def _stored(row: ArticleRow, dup: DuplicateRow | None) -> StoredArticle:
    match = {f: getattr(dup, f) if dup else None for f in _DUPLICATE_FIELDS - {"canonical_id"}}
    derived = {"headline": headline(row.title, row.text)}
    own = {f: getattr(row, f) for f in StoredArticle.model_fields if f not in {*match, *derived}}
    return StoredArticle.model_validate(own | match | derived)


def _with_duplicate_info() -> Any:
    return select(ArticleRow, DuplicateRow).outerjoin(
        DuplicateRow, DuplicateRow.article_id == ArticleRow.id
    )


async def get_article(session: AsyncSession, article_id: str) -> StoredArticle | None:
    result = await session.execute(_with_duplicate_info().where(ArticleRow.id == article_id))
    row = result.first()
    return _stored(row[0], row[1]) if row else None


async def duplicates_of(session: AsyncSession, canonical_id: str) -> list[DuplicateOut]:
    result = await session.execute(
        select(ArticleRow, DuplicateRow)
        .join(DuplicateRow, DuplicateRow.article_id == ArticleRow.id)
        .where(DuplicateRow.canonical_id == canonical_id)
        .order_by(ArticleRow.id)
    )
    return [
        DuplicateOut(
            id=a.id, url=a.url, title=a.title, source=a.source, ingested_at=a.ingested_at,
            similarity=d.similarity, reason=d.reason, measure=d.measure, matched_id=d.matched_id,
        )
        for a, d in result.all()
    ]  # fmt: skip


async def list_articles(
    session: AsyncSession, *, status: str | None, source: str | None, limit: int, cursor: str | None
) -> tuple[list[StoredArticle], str | None]:
    """Newest first (ids sort by ingest time); the cursor is the last id of the previous page."""
    query = _with_duplicate_info().order_by(ArticleRow.id.desc()).limit(limit + 1)
    if status:
        query = query.where(ArticleRow.status == status)
    if source:
        query = query.where(ArticleRow.source == source)
    if cursor:
        query = query.where(ArticleRow.id < cursor)
    rows = (await session.execute(query)).all()
    items = [_stored(a, d) for a, d in rows[:limit]]
    next_cursor = items[-1].id if len(rows) > limit else None
    return items, next_cursor


async def stats(session: AsyncSession) -> Stats:
    statuses = await session.execute(
        select(ArticleRow.status, func.count()).group_by(ArticleRow.status)
    )
    reasons = await session.execute(
        select(DuplicateRow.reason, func.count()).group_by(DuplicateRow.reason)
    )
    updates = await session.scalar(
        select(func.count())
        .select_from(VersionRow)
        .where(VersionRow.version_id != VersionRow.article_id)
    )
    by_status: dict[str, int] = {status: count for status, count in statuses.all()}
    by_reason: dict[str, int] = {reason: count for reason, count in reasons.all()}
    canonical = by_status.get("canonical", 0)
    duplicates = by_status.get("duplicate", 0)
    return Stats(
        articles=canonical + duplicates,
        canonical=canonical,
        duplicates=duplicates,
        duplicates_by_reason=by_reason,
        updates=updates or 0,
    )


def _story_summaries() -> Any:
    canonical = func.sum(case((ArticleRow.status == "canonical", 1), else_=0))
    duplicates = func.sum(case((ArticleRow.status == "duplicate", 1), else_=0))
    last_seen = func.max(ArticleRow.ingested_at)
    return (
        select(
            ArticleRow.story_id,
            func.min(ArticleRow.ingested_at),
            last_seen,
            canonical,
            duplicates,
            func.count(distinct(ArticleRow.source)),
        )
        .group_by(ArticleRow.story_id)
        .order_by(last_seen.desc(), ArticleRow.story_id.desc())
    )


async def _top_terms(session: AsyncSession, story_ids: list[str]) -> dict[str, list[str]]:
    """The terms the newest canonical article of each story carried (that carried any)."""
    rows = await session.execute(
        select(ArticleRow.story_id, ArticleRow.story_terms)
        .where(ArticleRow.story_id.in_(story_ids), ArticleRow.status == "canonical")
        .order_by(ArticleRow.id.desc())
    )
    terms: dict[str, list[str]] = {}
    for story_id, story_terms in rows.all():
        if story_terms:
            terms.setdefault(story_id, story_terms)
    return terms


async def _headlines(session: AsyncSession, story_ids: list[str]) -> dict[str, str]:
    """The headline of each story's earliest canonical article (ids sort by ingest time)."""
    earliest = (
        select(func.min(ArticleRow.id))
        .where(ArticleRow.story_id.in_(story_ids), ArticleRow.status == "canonical")
        .group_by(ArticleRow.story_id)
    )
    rows = await session.execute(
        # The first line is all a headline takes from the text.
        select(ArticleRow.story_id, ArticleRow.title, func.substr(ArticleRow.text, 1, 1000)).where(
            ArticleRow.id.in_(earliest)
        )
    )
    return {story_id: headline(title, text) for story_id, title, text in rows.all()}


async def list_stories(
    session: AsyncSession, *, since: datetime | None, limit: int
) -> list[StorySummary]:
    """Stories seen since ``since``, most recently active first."""
    query = _story_summaries().limit(limit)
    if since is not None:
        query = query.having(func.max(ArticleRow.ingested_at) >= since)
    rows = (await session.execute(query)).all()
    ids = [r[0] for r in rows]
    terms, headlines = await _top_terms(session, ids), await _headlines(session, ids)
    return [
        StorySummary(
            story_id=story_id,
            headline=headlines.get(story_id, ""),
            first_seen=first,
            last_seen=last,
            articles=n or 0,
            duplicates=d or 0,
            outlets=outlets,
            top_terms=terms.get(story_id, []),
        )
        for story_id, first, last, n, d, outlets in rows
    ]


async def get_story(session: AsyncSession, story_id: str) -> StoryDetail | None:
    row = (await session.execute(_story_summaries().where(ArticleRow.story_id == story_id))).first()
    if row is None:
        return None
    _, first, last, n, d, outlets = row
    members = await session.execute(
        select(ArticleRow)
        .where(ArticleRow.story_id == story_id, ArticleRow.status == "canonical")
        .order_by(ArticleRow.id)
    )
    coverage = [
        StoryArticle(
            id=a.id,
            url=a.url,
            title=a.title,
            headline=headline(a.title, a.text),
            source=a.source,
            ingested_at=a.ingested_at,
            duplicates=await duplicates_of(session, a.id),
        )
        for a in members.scalars().all()
    ]
    terms = await _top_terms(session, [story_id])
    return StoryDetail(
        story_id=story_id, headline=coverage[0].headline if coverage else "", first_seen=first,
        last_seen=last, articles=n or 0, duplicates=d or 0, outlets=outlets,
        top_terms=terms.get(story_id, []), coverage=coverage,
    )  # fmt: skip
