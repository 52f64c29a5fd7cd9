"""A real Redis Cluster on loopback ports, from the same ``redis-server`` binary as the embedded
server: for tests and benchmarks that must show the services work across slots and masters, and
survive a master's death.

Built the way an operator builds one: every node started with ``--cluster-enabled yes``, the
slots split evenly over the masters, the nodes introduced (CLUSTER MEET), each replica attached
to its master (CLUSTER REPLICATE), then waited on until every node reports the cluster healthy.
"""

from __future__ import annotations

import random
import socket
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import redis

from shared.embedded import EmbeddedRedis

SLOTS = 16384
BUS_OFFSET = 10_000  # a node's cluster bus listens on its port + 10000
MEET_RETRY_S = 3.0  # introductions are repeated this often until every node knows every other


def free_cluster_port(taken: frozenset[int] = frozenset()) -> int:
    """A loopback port that is free, and whose bus port is too (and below 65536); neither is in
    ``taken``, the ports already given to nodes that have not bound them yet."""
    for _ in range(200):
        port = random.randint(20_000, 55_000)
        if {port, port + BUS_OFFSET} & taken:
            continue
        try:
            for candidate in (port, port + BUS_OFFSET):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of loopback ports for a cluster node")


class EmbeddedCluster:
    """``masters`` masters with ``replicas`` replicas each, under ``data_dir``."""

    def __init__(
        self, data_dir: Path, masters: int = 3, replicas: int = 0, node_timeout_ms: int = 1000
    ) -> None:
        self.data_dir = Path(data_dir)
        self.node_timeout_ms = node_timeout_ms
        self.nodes: list[EmbeddedRedis] = []
        for n in range(masters * (1 + replicas)):
            self.nodes.append(self._node(n))
        self.masters = self.nodes[:masters]
        self.replicas = self.nodes[masters:]

    def _node(self, n: int) -> EmbeddedRedis:
        args = [
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(self.node_timeout_ms),
            # A node that lost its master's slots keeps answering for the others.
            "--cluster-require-full-coverage", "no",
        ]  # fmt: skip
        port = free_cluster_port(
            frozenset(p for node in self.nodes for p in (node.port, node.port + BUS_OFFSET))
        )
        return EmbeddedRedis(self.data_dir / f"node{n}", port, extra_args=args)

    @property
    def url(self) -> str:
        """A ``redis+cluster://`` URL naming every master, as a deployment would."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in self.masters)

    def start(self, timeout: float = 30.0) -> EmbeddedCluster:
        try:
            for node in self.nodes:
                node.start()
            self._form(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _form(self, timeout: float) -> None:
        clients = [redis.Redis(host="127.0.0.1", port=node.port) for node in self.nodes]
        share = SLOTS // len(self.masters)
        for n, client in enumerate(clients[: len(self.masters)]):
            last = SLOTS if n == len(self.masters) - 1 else (n + 1) * share
            _command(client, "CLUSTER ADDSLOTS", *range(n * share, last))
        deadline = time.monotonic() + timeout

        # A handshake not finished within the node timeout is dropped and never retried by the
        # node itself (a loaded machine can be that slow), so the introductions are repeated
        # until every node knows every other; meeting a node already known changes nothing.
        next_meet = 0.0
        while not all(_known(c) == len(self.nodes) for c in clients):
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError("the cluster did not meet in time")
            if now >= next_meet:
                for client in clients[1:]:
                    _command(client, "CLUSTER MEET", "127.0.0.1", self.nodes[0].port)
                next_meet = now + MEET_RETRY_S
            time.sleep(0.05)
        for n, client in enumerate(clients[len(self.masters) :]):
            master = clients[n % len(self.masters)]
            _command(client, "CLUSTER REPLICATE", _command(master, "CLUSTER MYID"))
        self._wait(lambda: all(_healthy(c) for c in clients), deadline, "become healthy")
        for client in clients:
            client.close()

    @staticmethod
    def _wait(check: object, deadline: float, what: str) -> None:
        assert callable(check)
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the cluster did not {what} in time")
            time.sleep(0.05)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Until every live node reports all slots served (after a failover, say)."""
        live = [n for n in self.nodes if n.process is not None and n.process.poll() is None]
        clients = [redis.Redis(host="127.0.0.1", port=node.port) for node in live]
        try:
            self._wait(lambda: all(_healthy(c) for c in clients), time.monotonic() + timeout,
                       "become healthy")  # fmt: skip
        finally:
            for client in clients:
                client.close()

    def kill(self, node: EmbeddedRedis) -> None:
        """Kill -9 one node, as a crashed machine would go."""
        assert node.process is not None
        node.process.kill()
        node.process.wait()

    def master_of(self, key: str) -> EmbeddedRedis:
        """The node now serving ``key``'s slot."""
        for node in self.nodes:
            if node.process is None or node.process.poll() is not None:
                continue
            client = redis.Redis(host="127.0.0.1", port=node.port)
            try:
                slot = int(_command(client, "CLUSTER KEYSLOT", key))
                for start, end, master, *_ in _command(client, "CLUSTER SLOTS"):
                    if start <= slot <= end:
                        port = int(master[1])
                        return next(n for n in self.nodes if n.port == port)
            finally:
                client.close()
        raise LookupError(f"no live node serves {key}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> EmbeddedCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _info(client: redis.Redis) -> dict[str, str]:
    info = _command(client, "CLUSTER INFO")  # redis-py parses the reply into a dict
    return {str(k): v.decode() if isinstance(v, bytes) else str(v) for k, v in info.items()}


def _known(client: redis.Redis) -> int:
    return int(_info(client).get("cluster_known_nodes", 0))


def _healthy(client: redis.Redis) -> bool:
    info = _info(client)
    return info.get("cluster_state") == "ok" and info.get("cluster_slots_ok") == str(SLOTS)


def _command(client: redis.Redis, *args: str | int) -> Any:
    return client.execute_command(*args)  # type: ignore[no-untyped-call]
