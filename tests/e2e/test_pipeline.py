"""The whole stack as separate processes (as `newsdedup up` and compose run it) on a real Redis."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from services.cli.demo import demo_articles
from services.cli.stack import Stack
from shared.models import Verdict
from shared.streams import decode
from tests.conftest import SEEDS, isolated_settings
from tests.waiting import wait_until


@pytest.fixture
def stack(redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    settings = isolated_settings(redis_url, tmp_path / "data", ingest_port=0, store_port=0)
    with Stack(settings) as running:
        yield running


def _stats(stack: Stack) -> dict[str, Any]:
    stats: dict[str, Any] = httpx.get(stack.url("store") + "/stats", timeout=5).json()
    return stats


def _article(stack: Stack, article_id: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{stack.url('store')}/articles/{article_id}").json()
    return body


def _post_batch(stack: Stack, bodies: list[dict[str, Any]]) -> list[str]:
    response = httpx.post(stack.url("ingest") + "/articles/batch", json=bodies, timeout=30)
    assert response.status_code == 202, response.text
    ids: list[str] = response.json()["ids"]
    return ids


def test_seeds_and_their_copies_end_as_five_canonical_articles(stack: Stack) -> None:
    bodies = demo_articles()  # 5 seeds, then a republished and an exact copy of each
    ids = _post_batch(stack, bodies)
    stats = wait_until(lambda: _stats(stack), lambda s: s["articles"] == len(ids))
    assert (stats["canonical"], stats["duplicates"]) == (5, 10)
    seed_ids = ids[:5]
    for n, seed_id in enumerate(seed_ids):
        assert _article(stack, seed_id)["status"] == "canonical"
        republished = _article(stack, ids[5 + 2 * n])
        exact = _article(stack, ids[6 + 2 * n])
        assert republished["canonical_id"] == seed_id
        assert republished["reason"] in ("near", "exact")
        assert (exact["canonical_id"], exact["reason"]) == (seed_id, "exact")
        assert exact["story_terms"]  # a duplicate carries its story's terms


def test_a_storys_terms_read_as_the_articles_write_them(stack: Stack) -> None:
    ids = _post_batch(stack, demo_articles()[:5])  # the five seeds: one story
    wait_until(lambda: _stats(stack), lambda s: s["articles"] == len(ids))
    story_id = _article(stack, ids[0])["story_id"]
    story = httpx.get(f"{stack.url('store')}/stories/{story_id}", timeout=5).json()
    assert {"Rubio", "Ukraine", "Russland"} <= set(story["top_terms"])


def _unique_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    vocabulary = [f"wort{i}" for i in range(5000)]
    return [" ".join(rng.choices(vocabulary, k=150)) for _ in range(count)]


def test_killing_dedupe_mid_run_loses_nothing_and_doubles_nothing(stack: Stack) -> None:
    texts = _unique_texts(400, seed=11)
    bodies = [{"text": t} for t in texts] + [{"text": t} for t in texts[:100]]  # 100 exact copies
    ids = _post_batch(stack, bodies[:250]) + _post_batch(stack, bodies[250:])

    wait_until(lambda: _stats(stack), lambda s: s["articles"] >= 20)
    stack.kill("dedupe")
    killed_at = _stats(stack)["articles"]
    stack.start_service("dedupe")

    stats = wait_until(lambda: _stats(stack), lambda s: s["articles"] >= len(ids), timeout=60)
    assert killed_at < len(ids), "dedupe finished before it was killed; the test proved nothing"
    assert (stats["articles"], stats["canonical"], stats["duplicates"]) == (500, 400, 100)
    for original, copy in zip(ids[:100], ids[400:], strict=True):
        assert _article(stack, copy)["canonical_id"] == original

    # Each article is on the verdict streams exactly once.
    assert stack.redis_url
    client = redis.Redis.from_url(stack.redis_url)
    published = [
        decode(Verdict, fields).id
        for stream in (stack.settings.stream_canonical, stack.settings.stream_duplicates)
        for _, fields in client.xrange(stream)
    ]
    assert sorted(published) == sorted(ids)
    client.close()


def test_cli_ingest_posts_files_and_reports_counts(stack: Stack, tmp_path: Path) -> None:
    from services.cli.poster import post_files

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("Ein Artikel aus einer Datei.", encoding="utf-8")
    (tmp_path / "in" / "b.html").write_text("<article><p>Aus HTML.</p></article>", encoding="utf-8")
    (tmp_path / "in" / "c.jsonl").write_text('{"text": "eins"}\n{"text": "zwei"}\n{"title": "x"}\n')
    summary = post_files([tmp_path / "in"], stack.url("ingest"), source="files")
    assert (summary.accepted, summary.rejected) == (4, 1)
    wait_until(lambda: _stats(stack), lambda s: s["articles"] == 4)
    stored = httpx.get(stack.url("store") + "/articles?source=files").json()["items"]
    assert sorted(a["text"] for a in stored) == [
        "Aus HTML.",
        "Ein Artikel aus einer Datei.",
        "eins",
        "zwei",
    ]


def test_changed_text_posted_under_the_same_url_updates_the_stored_article(stack: Stack) -> None:
    url = "https://news.example/politik/riad-gespraeche"
    texts = [p.read_text(encoding="utf-8") for p in SEEDS[:2]]
    [first] = _post_batch(stack, [{"url": url, "text": texts[0]}])
    wait_until(lambda: _stats(stack), lambda s: s["articles"] == 1)
    [second] = _post_batch(stack, [{"url": url + "?utm_source=feed", "text": texts[1]}])

    wait_until(lambda: _stats(stack), lambda s: s["updates"] == 1)
    assert _article(stack, first)["text"] == texts[1]
    versions = httpx.get(f"{stack.url('store')}/articles/{first}/versions").json()["versions"]
    assert [v["version_id"] for v in versions] == [first, second]


def test_a_heavily_edited_copy_and_a_short_teaser_are_stored_as_duplicates(stack: Stack) -> None:
    paragraphs = [[p for p in s.read_text(encoding="utf-8").split("\n") if p.strip()]
                  for s in SEEDS]  # fmt: skip
    full, wire = "\n".join(paragraphs[0][:10]), "\n".join(paragraphs[2])
    edited = " ".join(f"ersatz{n}" if n % 8 == 7 else w for n, w in enumerate(wire.split()))
    originals = _post_batch(stack, [{"text": full}, {"text": wire}])
    copies = _post_batch(stack, [{"text": "\n".join(paragraphs[0][:3])}, {"text": edited}])
    wait_until(lambda: _stats(stack), lambda s: s["articles"] == 4)
    teaser, heavy = (_article(stack, i) for i in copies)
    assert (teaser["canonical_id"], teaser["measure"]) == (originals[0], "containment")
    assert (heavy["canonical_id"], heavy["measure"]) == (originals[1], "pair_jaccard")
