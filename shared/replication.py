"""Writes that must survive a master's failover: WAIT for replicas after them."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import RedisCluster

from shared.redis import is_cluster

log = logging.getLogger("newsdedup.redis")
_warned_at = -3600.0


@dataclass(frozen=True)
class Replication:
    """How many replicas must confirm a write that has to survive a failover (0: none)."""

    replicas: int = 0
    timeout_ms: int = 500

    def queue_wait(self, client: aioredis.Redis, pipe: Pipeline, keys: Sequence[str]) -> int:
        """Queue WAIT after the writes to ``keys`` queued in ``pipe`` (one of ``client``'s);
        how many were queued.

        WAIT covers the writes sent before it on its connection. A cluster pipeline sends each
        master's commands on one connection, so one WAIT goes to the master of each key.
        """
        if not self.replicas:
            return 0
        if not is_cluster(client):
            pipe.execute_command("WAIT", self.replicas, self.timeout_ms)
            return 1
        masters = {}
        for key in keys:
            node = cast(RedisCluster, client).get_node_from_key(key)
            if node is not None:  # a slot with no master now fails its write anyway
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
