"""Dedupe wiring: every process does text work for the raw streams through the ``dedupe``
group, and judges while it holds the judge's lease, its fold in a child process; plus health
(whether this process judges, and how far behind the judge is) and metrics routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

from services.dedupe.judge.config import JudgeConfig
from services.dedupe.judge.judge import Judge
from services.dedupe.service.fold_process import FoldProcess
from services.dedupe.service.params import claim_params, index_params
from services.dedupe.service.runner import JudgeRunner
from services.dedupe.service.text_consumer import TextWorker
from services.dedupe.text.signature import signer_for
from shared.broker import make_broker
from shared.consumer import GroupConsumer
from shared.groups import declare_groups
from shared.health import health_router, redis_ping
from shared.metrics import metrics_router
from shared.models import RawArticle
from shared.progress import judge_status
from shared.redis import async_client
from shared.settings import Settings
from shared.streams import DEDUPE_GROUP, keys_for


def create_app(settings: Settings, judge_class: type[Judge] = Judge) -> FastAPI:
    """``judge_class``: what judges, in the fold's process (a test's own may stand in)."""
    if not settings.redis_url:
        raise ValueError("REDIS_URL is required to run the dedupe service")
    redis_url = settings.redis_url

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = async_client(redis_url, settings.cluster)
        signer = signer_for(settings)
        keys = keys_for(settings)
        await claim_params(redis, keys, index_params(JudgeConfig.from_settings(settings)))
        # Its own groups, and the store's before the first verdict is published.
        verdicts = [settings.stream_canonical, settings.stream_duplicates]
        await declare_groups(redis, settings, [*settings.raw_streams, *verdicts])
        fold = FoldProcess(settings, judge_class)
        await fold.start()  # ready before this process may take the lease
        judge = JudgeRunner.on(redis, settings, fold)
        worker = TextWorker(
            redis, keys, signer, lambda: judge.judging, settings.boilerplate_line_chars
        )
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
            await fold.close()
            await broker.stop()
            for consumer in consumers:
                await consumer.drain()
            await redis.aclose()

    app = FastAPI(title="newsdedup dedupe", version="0.1.0", lifespan=lifespan)

    async def judge_details(request: Request) -> dict[str, Any]:
        runner: JudgeRunner = request.app.state.judge
        status = await judge_status(request.app.state.redis, settings)
        return {"judging": runner.judging, "judge": status.as_dict()}

    app.include_router(health_router({"redis": redis_ping}, details=judge_details))
    streams = [*settings.raw_streams, settings.stream_canonical, settings.stream_duplicates,
               settings.stream_dead]  # fmt: skip
    app.include_router(metrics_router(streams, redis_size=True, judge=settings))
    return app
