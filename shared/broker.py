"""The FastStream broker every consuming service builds in its lifespan (never at import)."""

from __future__ import annotations

import logging

from faststream.redis import RedisBroker


def make_broker(redis_url: str) -> RedisBroker:
    # FastStream logs every message at INFO; at our rates that drowns the services' own logs.
    logger = logging.getLogger("newsdedup.broker")
    return RedisBroker(redis_url, logger=logger, log_level=logging.DEBUG)
