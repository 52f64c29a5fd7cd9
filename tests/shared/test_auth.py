"""API keys on ingest and on the store's read API, on the real apps."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.ingest.app import create_app as ingest_app
from services.store.app import create_app as store_app
from shared.auth import key_matches
from shared.settings import Settings

KEYS = "first-key, second-key"


@pytest.fixture
def ingest(settings: Settings) -> Iterator[TestClient]:
    with TestClient(ingest_app(settings.model_copy(update={"api_keys": KEYS}))) as client:
        yield client


@pytest.fixture
def store(settings: Settings) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"read_api_keys": "reader"})
    with TestClient(store_app(configured, consume=False)) as client:
        yield client


def test_a_key_matches_only_exactly() -> None:
    assert key_matches("second-key", ["first-key", "second-key"])
    assert not key_matches("second-ke", ["first-key", "second-key"])


def test_ingest_without_a_key_is_401_saying_what_to_send(ingest: TestClient) -> None:
    response = ingest.post("/articles", json={"text": "Eine Meldung"})
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_ingest_with_a_wrong_key_is_401(ingest: TestClient) -> None:
    headers = {"Authorization": "Bearer nope"}
    assert ingest.post("/articles", json={"text": "x"}, headers=headers).status_code == 401


def test_ingest_accepts_any_of_its_keys(ingest: TestClient) -> None:
    headers = {"Authorization": "Bearer second-key"}
    assert ingest.post("/articles", json={"text": "x"}, headers=headers).status_code == 202


def test_health_stays_open_for_probes(ingest: TestClient) -> None:
    assert ingest.get("/health").status_code == 200


def test_the_read_api_needs_its_own_key(store: TestClient) -> None:
    assert store.get("/stats").status_code == 401
    assert store.get("/stats", headers={"Authorization": "Bearer first-key"}).status_code == 401
    assert store.get("/stats", headers={"Authorization": "Bearer reader"}).status_code == 200
