"""Dedupe replicas on a Redis Cluster, over a partitioned raw stream: one judge, one canonical
article per pair."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.cli.stack import Stack
from shared.redis import sync_client
from shared.settings import Settings
from tests.conftest import isolated_settings
from tests.dedupe.test_replicas import assert_one_canonical_per_pair, post_pairs


@pytest.fixture
def three_workers_four_partitions(cluster_url: str, tmp_path: Path) -> Iterator[Settings]:
    settings = isolated_settings(cluster_url, tmp_path / "data", batch_size=10, partitions=4)
    stack = Stack(settings)
    try:
        for replica in range(3):
            stack.start_service("dedupe", replica=replica)
        yield settings
    finally:
        stack.stop()


def test_three_replicas_over_four_partitions_never_make_both_articles_of_a_pair_canonical(
    three_workers_four_partitions: Settings,
) -> None:
    settings = three_workers_four_partitions
    assert settings.redis_url is not None
    client = sync_client(settings.redis_url)
    articles = post_pairs(client, settings, 150)
    assert_one_canonical_per_pair(client, settings, articles)
    client.close()
    # Which of a pair wins depends on whether its two partitions were read in the same round
    # (then in id order) or not (docs/design.md, "Order across partitions"): printed, not held.
