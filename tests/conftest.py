"""Fixtures: a real Redis (REDIS_URL, or an embedded server), SQLite and optionally PostgreSQL.

Every test gets its own key prefix and stream names, so tests never see each other's data even
on a shared Redis.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import settings as hypothesis_settings

from shared.embedded import EmbeddedRedis
from shared.settings import Settings

# Generated examples are the same every run, and none fails for its speed: a test never asserts
# wall-clock time, and a loaded two-core machine takes longer than Hypothesis' default deadline.
hypothesis_settings.register_profile("newsdedup", deadline=None, derandomize=True)
hypothesis_settings.load_profile("newsdedup")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=False) as server:
        yield server.url


def isolated_settings(redis_url: str | None, data_dir: Path, **overrides: Any) -> Settings:
    tag = f"t{uuid.uuid4().hex[:10]}"
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "data_dir": data_dir,
        "key_prefix": tag,
        "stream_raw": f"{tag}:articles:raw",
        "stream_canonical": f"{tag}:articles:canonical",
        "stream_duplicates": f"{tag}:articles:duplicates",
        "stream_dead": f"{tag}:articles:dead",
        "claim_idle_ms": 500,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Settings:
    return isolated_settings(redis_url, tmp_path / "data")


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite in a temp dir; PostgreSQL (TEST_DATABASE_URL) in a schema of the test's own."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        return
    yield from _postgres_database(os.environ["TEST_DATABASE_URL"])


def _postgres_database(base_url: str) -> Iterator[str]:
    """A throw-away database on the server TEST_DATABASE_URL names."""
    import asyncpg

    plain = base_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"newsdedup_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(plain)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield plain.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + name
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
