"""A real 3-master Redis Cluster, from the redis-server binary, on loopback ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks.cluster import EmbeddedCluster


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture(scope="session")
def cluster_url(cluster: EmbeddedCluster) -> str:
    return cluster.url
