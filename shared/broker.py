"""The FastStream broker every consuming service builds in its lifespan (never at import)."""

from __future__ import annotations

import logging

from faststream.redis import RedisBroker, RedisClusterBroker

from shared.redis import ClusterAddress
from shared.settings import names_a_cluster


def make_broker(redis_url: str, cluster: bool = False) -> RedisBroker:
    # FastStream logs every message at INFO; at our rates that drowns the services' own logs.
    logger = logging.getLogger("newsdedup.broker")
    if cluster or names_a_cluster(redis_url):
        # FastStream's cluster broker discovers the cluster from one node.
        url = ClusterAddress.parse(redis_url).first_node_url
        return RedisClusterBroker(url, logger=logger, log_level=logging.DEBUG)
    return RedisBroker(redis_url, logger=logger, log_level=logging.DEBUG)
