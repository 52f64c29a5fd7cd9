"""The FastStream broker every consuming service builds in its lifespan (never at import)."""

from __future__ import annotations

import logging

from faststream.redis import RedisBroker, RedisClusterBroker

from shared.settings import CLUSTER_SCHEME


def make_broker(redis_url: str, cluster: bool = False) -> RedisBroker:
    # FastStream logs every message at INFO; at our rates that drowns the services' own logs.
    logger = logging.getLogger("newsdedup.broker")
    if cluster or redis_url.startswith(CLUSTER_SCHEME):
        # FastStream's cluster broker discovers the cluster from one node.
        userinfo, at, nodes = redis_url.split("://", 1)[1].rpartition("@")
        first = nodes.split("/", 1)[0].split(",", 1)[0]
        url = f"redis://{userinfo}{at}{first}"
        return RedisClusterBroker(url, logger=logger, log_level=logging.DEBUG)
    return RedisBroker(redis_url, logger=logger, log_level=logging.DEBUG)
