"""The store's read API, and its verdict consumers fed through a real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from services.store.app import create_app
from shared.settings import Settings
from shared.streams import encode
from tests.factories import raw_article, verdict
from tests.waiting import wait_until


@pytest.fixture
def store(settings: Settings, database_url: str) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"database_url": database_url})
    with TestClient(create_app(configured)) as client:
        yield client


@pytest.fixture
def publish(settings: Settings) -> Iterator[redis.Redis]:
    assert settings.redis_url
    client = redis.Redis.from_url(settings.redis_url)
    yield client
    client.close()


def _wait_stored(store: TestClient, count: int) -> dict[str, object]:
    return wait_until(lambda: store.get("/stats").json(), lambda s: s["articles"] == count)


def test_published_verdicts_are_stored_and_served(
    store: TestClient, publish: redis.Redis, settings: Settings
) -> None:
    original = raw_article("Der Originaltext", url="https://a.example/1", title="T", source="wire")
    copy = raw_article("Der Originaltext, kopiert")
    publish.xadd(settings.stream_canonical, encode(verdict(original)))
    publish.xadd(settings.stream_duplicates, encode(verdict(copy, original.id, "near", 0.8)))
    assert _wait_stored(store, 2)["articles"] == 2

    body = store.get(f"/articles/{copy.id}").json()
    assert (body["status"], body["canonical_id"], body["similarity"], body["reason"]) == (
        "duplicate", original.id, 0.8, "near",
    )  # fmt: skip
    assert (body["measure"], body["matched_id"]) == ("jaccard", original.id)
    canonical = store.get(f"/articles/{original.id}").json()
    assert (canonical["status"], canonical["canonical_id"], canonical["story_id"]) == (
        "canonical", original.id, original.id,
    )  # fmt: skip
    dups = store.get(f"/articles/{original.id}/duplicates").json()
    assert [(d["id"], d["reason"]) for d in dups["duplicates"]] == [(copy.id, "near")]


def test_verdicts_are_acked_only_once_stored(
    store: TestClient, publish: redis.Redis, settings: Settings
) -> None:
    publish.xadd(settings.stream_canonical, encode(verdict(raw_article("x"))))
    _wait_stored(store, 1)
    pending = publish.xpending(settings.stream_canonical, "store")
    assert pending["pending"] == 0


def test_unknown_article_is_a_404_naming_the_id(store: TestClient) -> None:
    response = store.get("/articles/NOPE")
    assert response.status_code == 404
    assert "NOPE" in response.json()["detail"]


def test_bad_listing_parameters_are_422(store: TestClient) -> None:
    assert store.get("/articles?limit=0").status_code == 422
    assert store.get("/articles?status=maybe").status_code == 422


def test_listing_returns_a_cursor_for_the_next_page(
    store: TestClient, publish: redis.Redis, settings: Settings
) -> None:
    for i in range(3):
        publish.xadd(settings.stream_canonical, encode(verdict(raw_article(f"t{i}"))))
    _wait_stored(store, 3)
    first = store.get("/articles?limit=2").json()
    second = store.get(f"/articles?limit=2&cursor={first['next_cursor']}").json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert second["next_cursor"] is None


def test_health_checks_database_and_redis(store: TestClient) -> None:
    assert store.get("/health").json() == {"status": "ok"}


def test_an_update_is_served_as_a_version_of_its_article(
    store: TestClient, publish: redis.Redis, settings: Settings
) -> None:
    original = raw_article("Erste Fassung", url="https://a.example/story")
    update = raw_article("Korrigierte Fassung", url="https://a.example/story")
    publish.xadd(settings.stream_canonical, encode(verdict(original)))
    publish.xadd(settings.stream_duplicates, encode(verdict(update, original.id, "update")))
    # Both rows: the two streams' consumers commit in either order.
    wait_until(
        lambda: store.get("/stats").json(), lambda s: s["articles"] == 1 and s["updates"] == 1
    )

    assert store.get(f"/articles/{original.id}").json()["text"] == "Korrigierte Fassung"
    versions = store.get(f"/articles/{original.id}/versions").json()["versions"]
    assert [v["version_id"] for v in versions] == [original.id, update.id]


def test_the_id_of_an_update_redirects_to_its_article(
    store: TestClient, publish: redis.Redis, settings: Settings
) -> None:
    original = raw_article("Erste Fassung", url="https://a.example/story")
    update = raw_article("Korrigierte Fassung", url="https://a.example/story")
    publish.xadd(settings.stream_duplicates, encode(verdict(update, original.id, "update")))
    publish.xadd(settings.stream_canonical, encode(verdict(original)))
    wait_until(lambda: store.get("/stats").json(), lambda s: s["updates"] == 1)

    response = store.get(f"/articles/{update.id}", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (
        307, f"/articles/{original.id}",
    )  # fmt: skip


def test_versions_of_an_unknown_article_are_a_404(store: TestClient) -> None:
    assert store.get("/articles/01UNKNOWN/versions").status_code == 404


def test_stories_are_served_with_their_coverage(
    store: TestClient, publish: redis.Redis, settings: Settings
) -> None:
    first, second = raw_article("Erste Meldung"), raw_article("Zweite Meldung")
    publish.xadd(settings.stream_canonical, encode(verdict(first, story_terms=["riad"])))
    publish.xadd(settings.stream_canonical, encode(verdict(second, story_id=first.id)))
    _wait_stored(store, 2)

    [story] = store.get("/stories", params={"since": "2000-01-01T00:00:00Z"}).json()["items"]
    assert (story["story_id"], story["articles"], story["top_terms"]) == (first.id, 2, ["riad"])
    detail = store.get(f"/stories/{first.id}").json()
    assert [a["id"] for a in detail["coverage"]] == [first.id, second.id]
    assert store.get("/stories/01NOSUCHSTORY").status_code == 404
    assert store.get("/stories", params={"since": "yesterday"}).status_code == 422


def test_metrics_report_what_the_store_group_has_pending(
    store: TestClient, publish: redis.Redis, settings: Settings
) -> None:
    publish.xadd(settings.stream_canonical, encode(verdict(raw_article("Eine Meldung"))))
    _wait_stored(store, 1)
    text = store.get("/metrics").text
    pending = f'newsdedup_stream_pending{{group="store",stream="{settings.stream_canonical}"}} 0.0'
    assert pending in text
    assert f'newsdedup_stream_length{{stream="{settings.stream_canonical}"}} 1.0' in text
