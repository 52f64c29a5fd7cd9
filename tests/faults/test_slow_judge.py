"""A judge whose every batch takes longer than its lease keeps the lease, judges every article
once, and its service answers ``/health`` all the while, saying that it judges and how far
behind it is. The judging runs in the fold's process, not on the event loop that renews the
lease: with the fold on the loop, the first batch would outlast the lease and never commit."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import uvicorn

from services.dedupe.app import create_app
from shared.embedded import free_port
from shared.models import Verdict
from shared.settings import Settings
from shared.streams import decode, encode, keys_for
from tests.conftest import isolated_settings
from tests.factories import raw_article
from tests.faults.slow import SECONDS_PER_ARTICLE, SlowJudge
from tests.waiting import wait_until

LEASE_MS = 1_000
BATCH = 10
ARTICLES = 30


class Served:
    """The dedupe service, with the slow judge, on a port of this process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = f"http://127.0.0.1:{settings.dedupe_port}"
        config = uvicorn.Config(create_app(settings, judge_class=SlowJudge), log_config=None,
                                host="127.0.0.1", port=settings.dedupe_port)  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()))

    def __enter__(self) -> Served:
        self.thread.start()
        wait_until(lambda: self.server.started, bool, timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Settings:
    assert BATCH * SECONDS_PER_ARTICLE > 2 * LEASE_MS / 1000  # every batch outlasts the lease
    return isolated_settings(redis_url, tmp_path / "data", judge_lease_ms=LEASE_MS,
                             batch_size=BATCH, dedupe_port=free_port())  # fmt: skip


def post(settings: Settings, count: int) -> list[str]:
    client = redis.Redis.from_url(settings.redis_url or "")
    articles = [raw_article(f"Artikel {n}: " + " ".join(f"wort{n}x{k}" for k in range(60)))
                for n in range(count)]  # fmt: skip
    for article in articles:
        client.xadd(settings.stream_raw, encode(article))
    client.close()
    return [a.id for a in articles]


def published(settings: Settings) -> list[str]:
    """The ids of the verdicts on both verdict streams."""
    client = redis.Redis.from_url(settings.redis_url or "")
    streams = (settings.stream_canonical, settings.stream_duplicates)
    ids = [decode(Verdict, fields).id for s in streams for _, fields in client.xrange(s)]
    client.close()
    return ids


def lease_changes(settings: Settings) -> int:
    client = redis.Redis.from_url(settings.redis_url or "")
    token = client.get(keys_for(settings).judge_token())
    client.close()
    return int(token or 0)


@pytest.fixture
def judge_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO, logger="newsdedup.judge"):
        yield caplog


def test_a_judge_whose_batches_outlast_its_lease_keeps_it_and_judges_every_article_once(
    settings: Settings, judge_log: pytest.LogCaptureFixture
) -> None:
    with Served(settings):
        ids = post(settings, ARTICLES)
        seen = wait_until(lambda: published(settings), lambda p: len(p) >= ARTICLES, timeout=120)
    messages = [r.getMessage() for r in judge_log.records]
    assert sorted(seen) == sorted(ids)  # each article judged once
    assert "judging" in messages
    assert not [m for m in messages if "lease lost" in m]
    assert lease_changes(settings) == 1  # the one lease it took, never lost or retaken


def test_health_answers_during_a_long_batch_and_says_the_judge_is_behind(
    settings: Settings,
) -> None:
    answers: list[dict[str, Any]] = []
    with Served(settings) as served:
        wait_until(lambda: httpx.get(served.url + "/health").json(),
                   lambda h: h.get("judging") is True, timeout=60)  # fmt: skip
        post(settings, BATCH)
        # One batch, three leases long: every poll during it must answer, at once.
        while len(published(settings)) < BATCH:
            reply = httpx.get(served.url + "/health", timeout=LEASE_MS / 2000)
            assert reply.status_code == 200
            answers.append(reply.json())
        after = httpx.get(served.url + "/health").json()
    during = [a["judge"] for a in answers if a["judge"]["entries_waiting"]]
    assert len(during) >= 10, answers  # it answered all through the batch, not only after
    assert all(a["judging"] for a in answers)
    assert max(d["entries_waiting"] for d in during) == BATCH
    assert max(d["lag_seconds"] for d in during) > LEASE_MS / 1000
    assert after["judge"]["entries_waiting"] == 0
    assert after["judge"]["lag_seconds"] == 0
    assert after["judge"]["last_verdict_at"] is not None
    assert after["judge"]["holder"] == settings.consumer_name
