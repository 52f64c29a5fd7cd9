"""The README's commands as a user runs them: `newsdedup demo` and `newsdedup up`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import redis

from shared.redis import free_port
from shared.settings import Settings, settings_env
from shared.streams import encode
from tests.conftest import ROOT
from tests.factories import raw_article, verdict
from tests.waiting import wait_until

CLI = [sys.executable, "-m", "services.cli"]


def _env_without_servers() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}


def test_demo_prints_five_canonical_seeds_and_their_ten_copies() -> None:
    result = subprocess.run(
        [*CLI, "demo"], cwd=ROOT, capture_output=True, text=True, timeout=180,
        env=_env_without_servers(), check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "5 canonical, 10 duplicates, 1 story" in result.stdout
    # Each seed's aggregator copy is exact; its regional copy differs only in furniture and layout,
    # which normalisation removes, so it is exact or (where some furniture stays) near.
    assert result.stdout.count("exact") + result.stdout.count("near") == 10
    assert result.stdout.count("exact") >= 5


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_up_runs_the_stack_on_embedded_redis_and_stops_on_sigterm(tmp_path: Path) -> None:
    ingest, store = free_port(), free_port()
    process = subprocess.Popen(
        [*CLI, "up", "--ingest-port", str(ingest), "--store-port", str(store),
         "--data-dir", str(tmp_path / "data")],
        cwd=ROOT, env=_env_without_servers(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_until(lambda: _ok(f"http://127.0.0.1:{store}/health"), bool, timeout=60)
        wait_until(lambda: _ok(f"http://127.0.0.1:{ingest}/health"), bool, timeout=30)
        posted = httpx.post(f"http://127.0.0.1:{ingest}/articles", json={"text": "Hallo"})
        article_url = f"http://127.0.0.1:{store}/articles/{posted.json()['id']}"
        stored = wait_until(lambda: httpx.get(article_url), lambda r: r.status_code == 200)
        assert stored.json()["status"] == "canonical"
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-2000:]
    assert f"http://127.0.0.1:{ingest}" in out and "(embedded)" in out
    assert (tmp_path / "data" / "store.db").exists()
    assert (tmp_path / "data" / "redis" / "appendonly.aof").exists()


def _published(settings: Settings, count: int) -> list[str]:
    client = redis.Redis.from_url(settings.redis_url or "")
    ids = []
    for n in range(count):
        article = raw_article(f"Meldung {n}")
        client.xadd(settings.stream_canonical, encode(verdict(article)))
        ids.append(article.id)
    client.close()
    return ids


def _tail(settings: Settings, *args: str) -> list[dict[str, object]]:
    result = subprocess.run(
        [*CLI, "tail", "canonical", *args], capture_output=True, text=True, timeout=60,
        env={**os.environ, **settings_env(settings)}, check=True,
    )  # fmt: skip
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_tail_from_start_prints_each_verdict_as_a_json_line(settings: Settings) -> None:
    ids = _published(settings, 3)
    lines = _tail(settings, "--from-start", "--count", "3")
    assert [line["id"] for line in lines] == ids


def test_tail_through_a_group_resumes_after_what_it_acked(settings: Settings) -> None:
    ids = _published(settings, 3)
    first = _tail(settings, "--from-start", "--group", "jq", "--count", "2")
    second = _tail(settings, "--group", "jq", "--count", "1")
    assert [line["id"] for line in first + second] == ids
