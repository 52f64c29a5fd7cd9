"""The store's verdict writer with verdicts handed in, on fakeredis and SQLite: it commits a
batch, then acks exactly those entries, and the read API serves what it committed. The writer
fed by real consumer groups on a real Redis is in ``test_api.py``."""

from __future__ import annotations

from pathlib import Path

import fakeredis
from fastapi.testclient import TestClient

from services.store.app import VerdictWriter, create_app
from services.store.db import create_schema, make_engine, sessions
from shared.consumer import Delivery
from shared.models import Verdict
from shared.settings import Settings
from tests.factories import raw_article, verdict


async def test_handed_verdicts_are_committed_then_acked_and_served(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(database_url)
    await create_schema(engine)
    redis = fakeredis.aioredis.FakeRedis()
    stream, group = "articles:canonical", "store"
    await redis.xgroup_create(stream, group, id="0", mkstream=True)
    original = raw_article("Der Originaltext", url="https://a.example/1", title="T")
    copy = raw_article("Der Originaltext, kopiert")
    entries = [
        await redis.xadd(stream, {"__data__": b"-"}),
        await redis.xadd(stream, {"__data__": b"-"}),
    ]
    await redis.xreadgroup(group, "store-1", {stream: ">"})
    handed = [verdict(original), verdict(copy, original.id, "near", 0.8)]
    deliveries = [
        Delivery[Verdict](stream, group, entry.decode(), item)
        for entry, item in zip(entries, handed, strict=True)
    ]
    await VerdictWriter(redis, sessions(engine)).handle(deliveries)
    assert (await redis.xpending(stream, group))["pending"] == 0
    await engine.dispose()
    await redis.aclose()

    settings = Settings(database_url=database_url, redis_url=None)
    with TestClient(create_app(settings, consume=False)) as store:
        body = store.get(f"/articles/{copy.id}").json()
        assert (body["status"], body["canonical_id"], body["reason"]) == (
            "duplicate", original.id, "near",
        )  # fmt: skip
        assert store.get("/stats").json()["articles"] == 2
