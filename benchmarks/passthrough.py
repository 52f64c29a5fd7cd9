"""The queue's own ceiling: a bare FastStream consumer that moves messages from one stream to
another through a consumer group, doing nothing else.

It reads batches the way our services do (batch subscriber, same batch size), writes each batch
to the output stream in one pipeline and acks it: the least any consumer of these streams can
do. Run as its own process, like a service: ``python -m benchmarks.passthrough`` with
``REDIS_URL``, ``PASSTHROUGH_IN``, ``PASSTHROUGH_OUT`` and ``PASSTHROUGH_BATCH`` set.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import redis.asyncio as aioredis
from faststream import FastStream
from faststream.middlewares import AckPolicy
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.annotations import RedisBatchStreamMessage

GROUP = "passthrough"


def create_app(redis_url: str, source: str, target: str, batch: int) -> FastStream:
    broker = RedisBroker(redis_url)
    redis = aioredis.Redis.from_url(redis_url)
    stream = StreamSub(source, group=GROUP, consumer="passthrough-1", batch=True,
                       max_records=batch)  # fmt: skip

    @broker.subscriber(stream=stream, ack_policy=AckPolicy.MANUAL)
    async def move(body: Any, message: RedisBatchStreamMessage) -> None:
        raw = message.raw_message
        async with redis.pipeline(transaction=False) as pipe:
            fields: Any
            for fields in raw["data"]:
                pipe.xadd(target, fields)
            pipe.xack(source, GROUP, *raw["message_ids"])
            await pipe.execute()

    return FastStream(broker)


def main() -> None:
    app = create_app(
        os.environ["REDIS_URL"],
        os.environ["PASSTHROUGH_IN"],
        os.environ["PASSTHROUGH_OUT"],
        int(os.environ.get("PASSTHROUGH_BATCH", "100")),
    )
    asyncio.run(app.run())


if __name__ == "__main__":
    main()
