"""Tables and the async engine. SQLite by default, PostgreSQL through DATABASE_URL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Float, String, Text, TypeDecorator, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite hands back naive ones otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class ArticleRow(Base):
    """Every stored article, canonical or duplicate, with its text."""

    __tablename__ = "articles"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str | None] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200), index=True)
    language: Mapped[str | None] = mapped_column(String(16))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    canonical_id: Mapped[str] = mapped_column(String(32))
    story_id: Mapped[str] = mapped_column(String(32), index=True)
    story_terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The version whose text the row holds: the article's own id until an update replaces it.
    version_id: Mapped[str] = mapped_column(String(32))


class DuplicateRow(Base):
    """The duplicates index: which canonical article each duplicate repeats, and how closely."""

    __tablename__ = "duplicates"

    article_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    canonical_id: Mapped[str] = mapped_column(String(32), index=True)
    similarity: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(16), index=True)
    measure: Mapped[str | None] = mapped_column(String(16))
    matched_id: Mapped[str | None] = mapped_column(String(32))


class VersionRow(Base):
    """Every text an article had, once it has had more than one: its history."""

    __tablename__ = "article_versions"

    version_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    article_id: Mapped[str] = mapped_column(String(32), index=True)
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the verdict writer
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


def sessions(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE the server answered with, wherever the driver put it."""
    seen: BaseException | None = error
    while seen is not None:
        state = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(state, str):
            return state
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def database_outage(error: BaseException) -> bool:
    """A database error that is not the data's fault: retry the same write later.

    Only the server saying the data itself is wrong (SQLSTATE classes 22 and 23: bad values,
    violated constraints) makes a message poison. Everything else (connections refused or cut,
    "database is locked", too many clients, a database closed to connections, an administrator
    shutdown) passes when the database is back, and the verdicts must wait for it.
    """
    if not isinstance(error, DBAPIError) or isinstance(error, DataError | IntegrityError):
        return False
    state = _sqlstate(error)
    return not (state is not None and state[:2] in ("22", "23"))
