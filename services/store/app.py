"""Store wiring: database, the verdict consumers and the read API in one process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.store.db import create_schema, database_outage, make_engine, sessions
from services.store.repository import save_verdicts
from services.store.routes import database_ping, page_router, router
from shared.auth import require_api_key
from shared.broker import make_broker
from shared.consumer import Delivery, GroupConsumer
from shared.errors import install_error_handlers, unavailable
from shared.groups import declare_groups
from shared.health import health_router, redis_ping
from shared.metrics import metrics_router
from shared.models import Verdict
from shared.redis import async_client
from shared.settings import Settings
from shared.streams import STORE_GROUP


class VerdictWriter:
    """Commits a batch of verdicts, then acks them: an ack never precedes the commit."""

    def __init__(self, redis: Any, session_factory: async_sessionmaker[Any]) -> None:
        self.redis = redis
        self.sessions = session_factory
        # The canonical and duplicates consumers share this writer; one batch at a time, so an
        # update and the article it updates never commit blind to each other (SQLite).
        self._turn = asyncio.Lock()

    async def handle(self, deliveries: Sequence[Delivery[Verdict]]) -> None:
        async with self._turn, self.sessions() as session, session.begin():
            await save_verdicts(session, [d.item for d in deliveries])
        first = deliveries[0]
        await self.redis.xack(first.stream, first.group, *(d.message_id for d in deliveries))


def create_app(settings: Settings, *, consume: bool = True) -> FastAPI:
    """The read API, and (unless ``consume`` is off, for read-only replicas) the consumers."""
    redis_url = settings.redis_url
    if consume and not redis_url:
        raise ValueError("REDIS_URL is required to run the store's verdict consumers")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.effective_database_url)
        await create_schema(engine)
        app.state.sessions = sessions(engine)
        broker = None
        consumers: list[GroupConsumer[Verdict]] = []
        if consume and redis_url:
            app.state.redis = async_client(redis_url, settings.cluster)
            writer = VerdictWriter(app.state.redis, app.state.sessions)
            broker = make_broker(redis_url, settings.cluster)
            verdicts = [settings.stream_canonical, settings.stream_duplicates]
            await declare_groups(app.state.redis, settings, verdicts)
            consumers = [
                GroupConsumer(
                    redis=app.state.redis,
                    settings=settings,
                    stream=stream,
                    group=STORE_GROUP,
                    model=Verdict,
                    handler=writer.handle,
                    # Database unreachable or locked: wait it out, acking nothing meanwhile.
                    outage=database_outage,
                    retain_ms=settings.stream_retention_ms,
                )
                for stream in verdicts
            ]
            for consumer in consumers:
                consumer.register(broker)
            await broker.start()
        try:
            yield
        finally:
            if broker is not None:
                await broker.stop()
                for consumer in consumers:  # verdicts read and not yet stored are stored
                    await consumer.drain()
                await app.state.redis.aclose()
            await engine.dispose()

    app = FastAPI(title="newsdedup store", version="0.1.0", lifespan=lifespan)
    # The page at / is static and open; the data it shows comes from the protected API.
    app.include_router(router, dependencies=[Depends(require_api_key(settings.read_keys, "read"))])
    app.include_router(page_router)
    checks = {"database": database_ping} | ({"redis": redis_ping} if consume else {})
    app.include_router(health_router(checks))
    streams = [settings.stream_canonical, settings.stream_duplicates, settings.stream_dead]
    app.include_router(metrics_router(streams))
    install_error_handlers(app)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(OSError)
    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, DBAPIError) and not database_outage(exc):
            raise exc
        return unavailable("the database is unavailable", 1)

    return app
