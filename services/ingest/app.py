"""Ingest wiring: settings, the Redis client and the routes, built per app instance."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from services.ingest.limits import BodySizeLimit
from services.ingest.queue import QueueFull, RawQueue
from services.ingest.routes import router
from shared.auth import require_api_key
from shared.errors import install_error_handlers, unavailable
from shared.health import health_router, redis_ping
from shared.metrics import metrics_router
from shared.redis import UNAVAILABLE, async_client
from shared.settings import Settings

BACKLOG_RETRY_SECONDS = 5  # a backlog drains in seconds to minutes
OUTAGE_RETRY_SECONDS = 1  # a Redis restart takes about a second


def create_app(settings: Settings) -> FastAPI:
    if not settings.redis_url:
        raise ValueError("REDIS_URL is required to run the ingest service")
    redis_url = settings.redis_url

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = async_client(redis_url, settings.cluster)
        app.state.redis = redis
        app.state.queue = RawQueue(redis, settings)
        try:
            yield
        finally:
            await redis.aclose()

    app = FastAPI(title="newsdedup ingest", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    auth = require_api_key(settings.ingest_keys, "ingest")
    app.include_router(router, dependencies=[Depends(auth)])
    app.include_router(health_router({"redis": redis_ping}))
    app.include_router(metrics_router([*settings.raw_streams, settings.stream_dead]))
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    install_error_handlers(app)

    # A full queue took nothing. An unreachable Redis may have taken the articles just before
    # the connection broke: a retry with the same Idempotency-Key then gets the first answer.
    @app.exception_handler(QueueFull)
    async def _full(request: Request, exc: QueueFull) -> JSONResponse:
        return unavailable(str(exc), BACKLOG_RETRY_SECONDS)

    async def _redis_down(request: Request, exc: Exception) -> JSONResponse:
        return unavailable("the queue is unavailable", OUTAGE_RETRY_SECONDS)

    for error in UNAVAILABLE:
        app.add_exception_handler(error, _redis_down)

    return app
