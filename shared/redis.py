"""Redis clients, one server's or a cluster's, and what the services read from replies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis
import redis.cluster
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.typing import KeyT

from shared.settings import names_a_cluster

MAX_CONNECTIONS = 64
CLUSTER_MAX_CONNECTIONS = 1024

# Redis, not the command, failed: it is restarting or unreachable, or a cluster is replacing a
# master (a replica mid-failover is read-only; a slot may have no master for a moment).
UNAVAILABLE: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,  # BusyLoadingError too: Redis replaying its AOF
    redis.exceptions.TimeoutError,
    redis.exceptions.TryAgainError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.ClusterDownError,  # MasterDownError too
    redis.exceptions.SlotNotCoveredError,
    redis.exceptions.RedisClusterException,  # no node of the cluster reachable
)
# What a retry may outlast: Redis unavailable, or the network between.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionError, ConnectionRefusedError, socket errors
    *UNAVAILABLE,
)


def async_client(url: str, cluster: bool = False) -> aioredis.Redis:
    """One pooled client per process; callers keep it for the process lifetime.

    Many coroutines want a connection at once: the pool makes them wait for one instead of
    failing when all are in use.

    A Redis Cluster gets redis-py's cluster client, typed as the single-server client: it answers
    the same commands, routing each to the master of its key's slot, and the code is written
    once for both (``is_cluster`` tells the few places that must differ).
    """
    if cluster or names_a_cluster(url):
        return cast(aioredis.Redis, _async_cluster(url))
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=60, health_check_interval=30
    )
    return aioredis.Redis(connection_pool=pool)


@dataclass(frozen=True)
class ClusterAddress:
    """Where to discover a cluster from: ``redis+cluster://[user:password@]host:port,...``
    (or one ``redis://`` node)."""

    nodes: list[tuple[str, int]]
    username: str | None
    password: str | None

    @property
    def first_node_url(self) -> str:
        """A ``redis://`` URL of the first node, credentials included."""
        user = quote(self.username or "", safe="")
        secret = f":{quote(self.password, safe='')}" if self.password is not None else ""
        credentials = f"{user}{secret}@" if user or secret else ""
        host, port = self.nodes[0]
        return f"redis://{credentials}{host}:{port}"

    @classmethod
    def parse(cls, url: str) -> ClusterAddress:
        userinfo, _, rest = url.split("://", 1)[1].split("/", 1)[0].rpartition("@")
        user, _, password = userinfo.partition(":")
        nodes = []
        for node in rest.split(","):
            parts = urlsplit(f"//{node}")
            nodes.append((parts.hostname or "127.0.0.1", parts.port or 6379))
        return cls(nodes, unquote(user) or None, unquote(password) or None)


def _async_cluster(url: str) -> RedisCluster:
    address = ClusterAddress.parse(url)
    client = RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in address.nodes],
        # Per node, and not a blocking pool: past it a command fails (MaxConnectionsError)
        # instead of waiting for a connection, so it is set well above what a batch uses.
        max_connections=CLUSTER_MAX_CONNECTIONS,
        health_check_interval=30,
        username=address.username,
        password=address.password,
    )
    return client


def sync_client(url: str, cluster: bool = False) -> redis.Redis:
    """A blocking client for the command line, a single server's or a cluster's."""
    if cluster or names_a_cluster(url):
        address = ClusterAddress.parse(url)
        startup = [redis.cluster.ClusterNode(host, port) for host, port in address.nodes]  # type: ignore[no-untyped-call]
        client = redis.cluster.RedisCluster(
            startup_nodes=startup, username=address.username, password=address.password
        )
        return cast(redis.Redis, client)
    return redis.Redis.from_url(url)


def is_cluster(client: Any) -> bool:
    return isinstance(client, RedisCluster | redis.cluster.RedisCluster)


async def get_many(client: aioredis.Redis | Pipeline, keys: Sequence[KeyT]) -> list[Any]:
    """MGET; on a cluster, where one command may not span slots, redis-py's per-slot MGETs."""
    if is_cluster(client):
        return await cast(RedisCluster, client).mget_nonatomic(keys)
    return await client.mget(keys)


def without_password(url: str) -> str:
    """A URL fit for a terminal or a log: the password (if any) replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def as_text(value: bytes | str) -> str:
    """redis-py types replies as bytes or str; our clients never decode, so this is bytes."""
    return value.decode() if isinstance(value, bytes) else value


def as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
