"""Lua scripts, called directly or queued into a pipeline, on one server or a cluster."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.typing import EncodableT, KeyT

from shared.redis import is_cluster


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
            node = cast(RedisCluster, self.redis).get_node_from_key(keys[0])
            target.execute_command("EVAL", self.text, len(keys), *keys, *args, target_nodes=node)
            return None  # queued; awaiting a cluster pipeline would empty its queue
        return await target.eval(self.text, len(keys), *keys, *args)
