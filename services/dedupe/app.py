"""Dedupe wiring: index, engine and the raw-stream consumer, plus a health route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from fastapi import FastAPI

from services.dedupe.engine import DedupeEngine
from services.dedupe.index import RedisIndex
from services.dedupe.signature import SignatureParams, Signer
from services.dedupe.story_index import StoryIndex
from services.dedupe.window import Window
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


def index_for(redis: aioredis.Redis, settings: Settings) -> RedisIndex:
    return RedisIndex(
        redis,
        keys_for(settings),
        signer_for(settings),
        Window(settings.index_horizon_ms),
        settings.index_shards,
    )


def story_index_for(redis: aioredis.Redis, settings: Settings) -> StoryIndex:
    return StoryIndex(
        redis, keys_for(settings), settings.seed, settings.story_quiet_ms, settings.index_shards
    )


def engine_for(redis: aioredis.Redis, settings: Settings) -> DedupeEngine:
    return DedupeEngine(
        redis, index_for(redis, settings), story_index_for(redis, settings), settings
    )


def verification_params(settings: Settings) -> dict[str, str]:
    """Thresholds are recorded too: replicas judging with different ones would disagree."""
    return {
        "threshold": str(settings.threshold),
        "containment_threshold": str(settings.containment_threshold),
        "containment_min_shingles": str(settings.containment_min_shingles),
        "story_threshold": str(settings.story_threshold),
        "story_quiet_days": str(settings.story_quiet_days),
    }


def create_app(settings: Settings) -> FastAPI:
    if not settings.redis_url:
        raise ValueError("REDIS_URL is required to run the dedupe service")
    redis_url = settings.redis_url

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = async_client(redis_url, settings.cluster)
        engine = engine_for(redis, settings)
        await engine.index.claim_params(verification_params(settings))
        # Its own groups, and the store's before the first verdict is published.
        verdicts = [settings.stream_canonical, settings.stream_duplicates]
        await declare_groups(redis, settings, [*settings.raw_streams, *verdicts])
        broker = make_broker(redis_url, settings.cluster)
        consumers = [
            GroupConsumer(
                redis=redis,
                settings=settings,
                stream=stream,
                group=DEDUPE_GROUP,
                model=RawArticle,
                handler=engine.handle,
                in_flight=settings.dedupe_batches_in_flight,
                overlap=lambda: engine.reads_alone,
            )
            for stream in settings.raw_streams  # one group over every partition
        ]
        for consumer in consumers:
            consumer.register(broker)
        app.state.redis = redis
        await broker.start()
        try:
            yield
        finally:
            await broker.stop()
            for consumer in consumers:  # batches under way finish and ack
                await consumer.drain()
            await redis.aclose()

    app = FastAPI(title="newsdedup dedupe", version="0.1.0", lifespan=lifespan)

    app.include_router(health_router(redis=redis_ping))
    streams = [*settings.raw_streams, settings.stream_canonical, settings.stream_duplicates,
               settings.stream_dead]  # fmt: skip
    app.include_router(metrics_router(streams, index=True))
    return app
