"""Reads and idempotent writes of verdicts; the only module that issues SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.store.db import ArticleRow, DuplicateRow
from services.store.schemas import DuplicateOut, Stats, StoredArticle
from shared.models import Verdict

_DUPLICATE_FIELDS = {"canonical_id", "similarity", "reason", "measure"}


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def save_verdicts(session: AsyncSession, verdicts: Sequence[Verdict]) -> None:
    """Insert-or-ignore: a redelivered verdict leaves the rows exactly as they were."""
    if not verdicts:
        return
    article_columns = set(ArticleRow.__table__.columns.keys())
    articles = [v.model_dump(include=article_columns) for v in verdicts]
    await session.execute(_insert(session, ArticleRow).on_conflict_do_nothing(), articles)
    duplicates = [
        {"article_id": v.id, **v.model_dump(include=_DUPLICATE_FIELDS)}
        for v in verdicts
        if v.status == "duplicate"
    ]
    if duplicates:
        await session.execute(_insert(session, DuplicateRow).on_conflict_do_nothing(), duplicates)


def _stored(row: ArticleRow, dup: DuplicateRow | None) -> StoredArticle:
    match = {f: getattr(dup, f) if dup else None for f in ("similarity", "reason", "measure")}
    own = {f: getattr(row, f) for f in StoredArticle.model_fields if f not in match}
    return StoredArticle.model_validate(own | match)


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
            similarity=d.similarity, reason=d.reason, measure=d.measure,
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
    by_status: dict[str, int] = {status: count for status, count in statuses.all()}
    by_reason: dict[str, int] = {reason: count for reason, count in reasons.all()}
    canonical = by_status.get("canonical", 0)
    duplicates = by_status.get("duplicate", 0)
    return Stats(
        articles=canonical + duplicates,
        canonical=canonical,
        duplicates=duplicates,
        duplicates_by_reason=by_reason,
    )
