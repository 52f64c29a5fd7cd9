"""The stack on a Redis Cluster, with the README's override: six nodes, four partitions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.cli.demo import demo_articles
from tests.compose import readme
from tests.compose.engine import Engine
from tests.compose.stack import ComposeStack, user_stack
from tests.waiting import wait_until

# Building the images (and the stand-in bases, where none can be pulled) happens in the first
# test's setup, which takes minutes on a loaded machine.
pytestmark = pytest.mark.timeout(900)

HEALTHY = {
    "dedupe": ["healthy"] * 3,
    "ingest": ["healthy"],
    "postgres": ["healthy"],
    "redis": ["healthy"],  # named by the services' depends_on; holds nothing
    "redis-1": ["healthy"],
    "redis-2": ["healthy"],
    "redis-3": ["healthy"],
    "redis-4": ["healthy"],
    "redis-5": ["healthy"],
    "redis-6": ["healthy"],
    "redis-cluster": ["exited"],  # formed the cluster and left
    "store": ["healthy"],
}


@pytest.fixture(scope="module")
def stack(
    engine: Engine, images: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComposeStack]:
    workdir = tmp_path_factory.mktemp("cluster")
    with user_stack(engine, images, workdir, down=readme.CLUSTER_DOWN) as running:
        yield running


def test_the_seeds_and_their_copies_are_judged_on_a_redis_cluster(stack: ComposeStack) -> None:
    stack.run(readme.CLUSTER_UP)
    wait_until(stack.health, lambda health: health == HEALTHY, timeout=300)
    formed = stack.run(readme.ON_CLUSTER + " exec -T redis-1 redis-cli cluster info")
    assert "cluster_state:ok" in formed

    ids = stack.post(demo_articles())  # 5 seeds, then a republished and an exact copy of each
    wait_until(stack.stored_count, lambda n: n >= len(ids), timeout=300)
    stats = stack.read("/stats")
    assert (stats["articles"], stats["canonical"], stats["duplicates"]) == (15, 5, 10)
    rows = stack.stored()
    assert {rows[i]["canonical_id"] for i in ids} == set(ids[:5])
    partitions = stack.run(readme.ON_CLUSTER + " exec -T ingest newsdedup status")
    assert "articles:raw:{3}" in partitions  # the raw stream in four partitions
