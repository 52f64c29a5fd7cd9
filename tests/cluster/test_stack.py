"""The whole stack on a Redis Cluster: the same verdicts as on one server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.cli.demo import demo_articles
from services.cli.stack import Stack
from tests.conftest import isolated_settings
from tests.e2e.test_pipeline import _article, _post_batch, _stats
from tests.waiting import wait_until


@pytest.fixture
def stack(cluster_url: str, tmp_path: Path) -> Iterator[Stack]:
    settings = isolated_settings(
        cluster_url, tmp_path / "data", ingest_port=0, store_port=0, partitions=4
    )
    with Stack(settings) as running:
        yield running


def test_seeds_and_their_copies_end_as_five_canonical_articles_on_a_cluster(stack: Stack) -> None:
    bodies = demo_articles()
    ids = _post_batch(stack, bodies)
    stats = wait_until(lambda: _stats(stack), lambda s: s["articles"] == len(ids))
    assert (stats["canonical"], stats["duplicates"]) == (5, 10)
    for n, seed_id in enumerate(ids[:5]):
        assert _article(stack, seed_id)["status"] == "canonical"
        assert _article(stack, ids[5 + 2 * n])["canonical_id"] == seed_id
        assert _article(stack, ids[6 + 2 * n])["canonical_id"] == seed_id
