"""The ingest HTTP API against a real Redis: what it accepts, enqueues and refuses."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC

import pytest
import redis
from fastapi.testclient import TestClient

from services.ingest.app import create_app
from shared.embedded import free_port
from shared.models import RawArticle
from shared.settings import Settings
from shared.streams import decode

Queued = Callable[[], list[RawArticle]]


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def queued(settings: Settings) -> Iterator[Queued]:
    assert settings.redis_url
    sync = redis.Redis.from_url(settings.redis_url)

    def read() -> list[RawArticle]:
        return [decode(RawArticle, fields) for _, fields in sync.xrange(settings.stream_raw)]

    yield read
    sync.close()


def test_posted_article_is_queued_with_its_id(client: TestClient, queued: Queued) -> None:
    response = client.post("/articles", json={"text": "Hallo Welt", "url": "https://a.example/x/"})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    [article] = queued()
    assert (article.id, article.text, article.canonical_url) == (
        body["id"], "Hallo Welt", "https://a.example/x",
    )  # fmt: skip


def test_html_is_reduced_to_article_text(client: TestClient, queued: Queued) -> None:
    html = "<nav>Menu</nav><article><p>Der Text.</p></article><footer>F</footer>"
    assert client.post("/articles", json={"html": html}).status_code == 202
    assert queued()[0].text == "Der Text."


def test_retry_with_the_same_idempotency_key_returns_the_same_id_once_queued(
    client: TestClient, queued: Queued
) -> None:
    headers = {"Idempotency-Key": "feed-42"}
    first = client.post("/articles", json={"text": "a"}, headers=headers)
    second = client.post("/articles", json={"text": "a"}, headers=headers)
    assert first.json()["id"] == second.json()["id"]
    assert second.status_code == 202
    assert len(queued()) == 1


def test_distinct_idempotency_keys_queue_separately(client: TestClient, queued: Queued) -> None:
    client.post("/articles", json={"text": "a"}, headers={"Idempotency-Key": "k1"})
    client.post("/articles", json={"text": "a"}, headers={"Idempotency-Key": "k2"})
    assert len(queued()) == 2


def test_batch_queues_every_item_in_order(client: TestClient, queued: Queued) -> None:
    response = client.post("/articles/batch", json=[{"text": f"t{i}"} for i in range(5)])
    assert response.status_code == 202
    ids = response.json()["ids"]
    assert [a.id for a in queued()] == ids
    assert ids == sorted(ids)  # ids sort by ingest order


def test_batch_with_one_bad_item_names_it_and_queues_nothing(
    client: TestClient, queued: Queued
) -> None:
    items = [{"text": f"Meldung {n}"} for n in range(999)]
    items.insert(517, {"title": "no text"})  # 1 bad among 999 good
    response = client.post("/articles/batch", json=items)
    assert response.status_code == 422
    assert [e["loc"][:2] for e in response.json()["detail"]] == [["body", 517]]
    assert queued() == []


def test_batch_with_html_lacking_text_names_the_item_and_field(
    client: TestClient, queued: Queued
) -> None:
    response = client.post("/articles/batch", json=[{"text": "ok"}, {"html": "<nav>x</nav>"}])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", 1, "html"]
    assert queued() == []


def test_batch_over_the_limit_is_refused(settings: Settings) -> None:
    small = settings.model_copy(update={"max_batch_items": 3})
    with TestClient(create_app(small)) as client:
        response = client.post("/articles/batch", json=[{"text": "x"}] * 4)
    assert response.status_code == 422
    assert "1 to 3 articles" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x"}, None),
        ({"text": "   "}, None),
        ({"text": 5}, "text"),
        ({"text": "x", "url": "not a url"}, "url"),
        ({"text": "x", "published_at": "gestern"}, "published_at"),
        ({"text": "x", "published_at": "2025-02-18 kurz nach zehn"}, "published_at"),
        ({"text": "Vor\u0000Nach"}, "text"),
        ({"text": "x", "title": "Titel\u0000"}, "title"),
        ({"text": "x", "url": "https://news.example/\u0000"}, "url"),
        ({"html": ["<p>x</p>"]}, "html"),
        ({"text": "x", "source": {"name": "dpa"}}, "source"),
        ({"text": "x", "unknown": 1}, "unknown"),
    ],
)
def test_invalid_article_is_a_422_naming_the_problem(
    client: TestClient, queued: Queued, body: dict[str, object], field: str | None
) -> None:
    response = client.post("/articles", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    if field:
        assert detail[0]["loc"] == ["body", field]
    assert queued() == []


def test_a_lone_surrogate_is_a_422_naming_the_field(client: TestClient, queued: Queued) -> None:
    body = b'{"text": "Riad \\ud800 Gespr\\u00e4che"}'
    response = client.post("/articles", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "text"]
    assert queued() == []


def test_a_body_that_is_not_utf8_is_a_400_naming_the_body(
    client: TestClient, queued: Queued
) -> None:
    body = '{"text": "Gespräche in Riad"}'.encode("latin-1")
    response = client.post("/articles", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["detail"] == [
        {"loc": ["body"], "msg": "the body is not JSON in UTF-8", "type": "json_invalid"}
    ]
    assert queued() == []


def test_errors_do_not_echo_the_posted_text(client: TestClient) -> None:
    response = client.post("/articles", json={"text": "geheim " * 1000, "url": "ftp://x"})
    assert response.status_code == 422
    assert "geheim" not in response.text


def test_deeply_nested_html_is_reduced_to_its_text(client: TestClient, queued: Queued) -> None:
    depth = 100_000  # 1.1 MB of <div>, under the body limit
    html = "<div>" * depth + "Gespräche in Riad." + "</div>" * depth
    response = client.post("/articles", json={"html": html})
    assert response.status_code == 202
    assert [a.text for a in queued()] == ["Gespräche in Riad."]


@pytest.mark.parametrize(
    ("published_at", "expected"),
    [
        ("Tue, 18 Feb 2025 10:00:00 GMT", "2025-02-18T10:00:00+00:00"),  # RSS
        ("18 Feb 2025 11:00:00 +0100", "2025-02-18T10:00:00+00:00"),  # RFC 2822, no weekday
        ("2025-02-18T11:00:00+01:00", "2025-02-18T10:00:00+00:00"),  # Atom: RFC 3339
        ("2025-02-18T10:00:00Z", "2025-02-18T10:00:00+00:00"),
    ],
)
def test_feed_dates_in_rfc_2822_and_rfc_3339_are_accepted(
    client: TestClient, queued: Queued, published_at: str, expected: str
) -> None:
    response = client.post("/articles", json={"text": "x", "published_at": published_at})
    assert response.status_code == 202, response.text
    [article] = queued()
    assert article.published_at is not None
    assert article.published_at.astimezone(UTC).isoformat() == expected


def test_html_without_any_text_is_a_422(client: TestClient, queued: Queued) -> None:
    response = client.post("/articles", json={"html": "<div>" * 50_000})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "html"]
    assert queued() == []


def test_ten_megabytes_of_div_is_a_413(client: TestClient, queued: Queued) -> None:
    response = client.post("/articles", json={"html": "<div>" * 2_000_000})
    assert response.status_code == 413
    assert queued() == []


def test_past_the_backlog_limit_ingest_answers_503_with_retry_after(
    settings: Settings, queued: Queued
) -> None:
    small = settings.model_copy(update={"max_backlog": 3})
    with TestClient(create_app(small)) as client:
        accepted = client.post("/articles/batch", json=[{"text": "eins"}, {"text": "zwei"}])
        refused = client.post("/articles/batch", json=[{"text": "drei"}, {"text": "vier"}])
    assert (accepted.status_code, refused.status_code) == (202, 503)
    assert refused.headers["retry-after"] == "5"
    assert "waiting to be deduplicated" in refused.json()["detail"][0]["msg"]
    assert [a.text for a in queued()] == ["eins", "zwei"]


def test_a_replay_is_answered_even_past_the_backlog_limit(settings: Settings) -> None:
    small = settings.model_copy(update={"max_backlog": 1})
    with TestClient(create_app(small)) as client:
        first = client.post("/articles", json={"text": "eins"}, headers={"Idempotency-Key": "k"})
        again = client.post("/articles", json={"text": "eins"}, headers={"Idempotency-Key": "k"})
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()


def test_with_redis_unreachable_ingest_answers_503_with_retry_after(settings: Settings) -> None:
    unreachable = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(unreachable)) as client:
        response = client.post("/articles", json={"text": "eins"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["detail"][0]["msg"] == "the queue is unavailable"


def test_malformed_json_is_a_422(client: TestClient) -> None:
    response = client.post(
        "/articles", content=b'{"text": "x"', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_body_over_the_size_limit_is_a_413(settings: Settings, queued: Queued) -> None:
    small = settings.model_copy(update={"max_body_bytes": 2048})
    with TestClient(create_app(small)) as client:
        response = client.post("/articles", content=json.dumps({"text": "x" * 5000}),
                               headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 413
    assert response.json()["detail"][0]["loc"] == ["body"]
    assert queued() == []


def test_body_over_the_size_limit_sent_in_chunks_is_a_413(
    settings: Settings, queued: Queued
) -> None:
    small = settings.model_copy(update={"max_body_bytes": 2048})
    body = json.dumps({"text": "x" * 5000}).encode()
    chunks = (body[n : n + 1000] for n in range(0, len(body), 1000))  # no Content-Length
    with TestClient(create_app(small)) as client:
        response = client.post("/articles", content=chunks,
                               headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 413
    assert response.json()["detail"][0]["loc"] == ["body"]
    assert queued() == []


def test_a_body_within_the_limit_sent_in_chunks_is_accepted(
    settings: Settings, queued: Queued
) -> None:
    body = json.dumps({"text": "in Stücken gesendet"}).encode()
    chunks = (body[n : n + 7] for n in range(0, len(body), 7))
    with TestClient(create_app(settings)) as client:
        response = client.post("/articles", content=chunks,
                               headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 202
    assert [a.text for a in queued()] == ["in Stücken gesendet"]


def test_health_reports_ok_when_redis_answers(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}


def _metric(client: TestClient, line_start: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_accepted_articles_and_the_raw_stream(
    client: TestClient, settings: Settings
) -> None:
    before = _metric(client, "newsdedup_articles_ingested_total")
    client.post("/articles/batch", json=[{"text": "Eins"}, {"text": "Zwei"}])
    assert _metric(client, "newsdedup_articles_ingested_total") == before + 2
    length = f'newsdedup_stream_length{{stream="{settings.stream_raw}"}}'
    assert _metric(client, length) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "text/plain"},
        {"content-type": "application/x-www-form-urlencoded"},
        {},
    ],
)
@pytest.mark.parametrize("path", ["/articles", "/articles/batch"])
def test_a_body_that_is_not_declared_json_is_a_415_naming_application_json(
    client: TestClient, queued: Queued, headers: dict[str, str], path: str
) -> None:
    response = client.post(path, content=b'{"text": "Gespraeche in Riad"}', headers=headers)
    assert response.status_code == 415
    assert response.json()["detail"] == [
        {
            "loc": ["header", "content-type"],
            "msg": "the body must be JSON: send Content-Type: application/json",
            "type": "unsupported_media_type",
        }
    ]
    assert queued() == []


def test_json_with_a_charset_is_json(client: TestClient, queued: Queued) -> None:
    response = client.post(
        "/articles", content=b'{"text": "Gespraeche in Riad"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )  # fmt: skip
    assert response.status_code == 202
