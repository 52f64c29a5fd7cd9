"""Dedupe wiring: every process does text work for the raw streams through the ``dedupe``
group, and judges while it holds the judge's lease; plus health and metrics routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.dedupe.judging import JudgeRunner
from services.dedupe.params import claim_params, index_params
from services.dedupe.signature import SignatureParams, Signer
from services.dedupe.text_worker import TextWorker
from shared.broker import make_broker
from shared.consumer import GroupConsumer
from shared.groups import declare_groups
from shared.health import health_router, redis_ping
from shared.metrics import metrics_router
from shared.models import RawArticle
from shared.redis import async_client
from shared.settings import Settings
from shared.streams import DEDUPE_GROUP, keys_for


def signer_for(settings: Settings) -> Signer:
    return Signer(
        SignatureParams(
            num_perm=settings.num_perm,
            seed=settings.seed,
            shingle_size=settings.shingle_size,
            candidate_threshold=settings.candidate_threshold,
        )
    )


def create_app(settings: Settings) -> FastAPI:
    if not settings.redis_url:
        raise ValueError("REDIS_URL is required to run the dedupe service")
    redis_url = settings.redis_url

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = async_client(redis_url, settings.cluster)
        signer = signer_for(settings)
        keys = keys_for(settings)
        await claim_params(redis, keys, index_params(settings, signer))
        # Its own groups, and the store's before the first verdict is published.
        verdicts = [settings.stream_canonical, settings.stream_duplicates]
        await declare_groups(redis, settings, [*settings.raw_streams, *verdicts])
        judge = JudgeRunner(redis, settings, signer)
        worker = TextWorker(redis, keys, signer, lambda: judge.judging)
        broker = make_broker(redis_url, settings.cluster)
        consumers = [
            GroupConsumer(
                redis=redis,
                settings=settings,
                stream=stream,
                group=DEDUPE_GROUP,
                model=RawArticle,
                handler=worker.handle,
            )
            for stream in settings.raw_streams
        ]
        for consumer in consumers:
            consumer.register(broker)
        app.state.redis = redis
        app.state.judge = judge
        await broker.start()
        judging = asyncio.create_task(judge.run())
        try:
            yield
        finally:
            await judge.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await judging
            await broker.stop()
            for consumer in consumers:
                await consumer.drain()
            await redis.aclose()

    app = FastAPI(title="newsdedup dedupe", version="0.1.0", lifespan=lifespan)

    app.include_router(health_router(redis=redis_ping))
    streams = [*settings.raw_streams, settings.stream_canonical, settings.stream_duplicates,
               settings.stream_dead]  # fmt: skip
    app.include_router(metrics_router(streams, index=True))
    return app
