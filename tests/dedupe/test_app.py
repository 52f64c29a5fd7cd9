"""The dedupe service's HTTP side: health and metrics, on a real Redis."""

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from services.dedupe.app import create_app
from shared.settings import Settings
from shared.streams import encode
from tests.factories import raw_article
from tests.waiting import wait_until


@pytest.fixture
def dedupe(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def test_metrics_report_the_raw_stream_and_the_index_size(
    dedupe: TestClient, settings: Settings
) -> None:
    client = redis.Redis.from_url(settings.redis_url or "")
    client.xadd(settings.stream_raw, encode(raw_article("Eine Meldung")))
    client.close()
    text = dedupe.get("/metrics").text
    assert f'newsdedup_stream_length{{stream="{settings.stream_raw}"}} 1.0' in text
    keys = next(line for line in text.splitlines() if line.startswith("newsdedup_redis_keys "))
    assert float(keys.split()[1]) > 0


def _gauge(text: str, name: str) -> float | None:
    line = next((line for line in text.splitlines() if line.startswith(f"{name} ")), None)
    return float(line.split()[1]) if line else None


def test_metrics_report_the_judges_index_in_its_memory(
    dedupe: TestClient, settings: Settings
) -> None:
    client = redis.Redis.from_url(settings.redis_url or "")
    client.xadd(settings.stream_raw, encode(raw_article("Eine Meldung über Gespräche in Riad")))
    client.close()
    text = wait_until(
        lambda: dedupe.get("/metrics").text,
        lambda text: _gauge(text, "newsdedup_judge_index_articles") == 1.0,
    )
    assert (_gauge(text, "newsdedup_judge_index_bytes") or 0) > 0
