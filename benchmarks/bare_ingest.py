"""The HTTP ceiling for ingest: a bare FastAPI app that only XADDs what it is posted.

No validation, no text extraction, no hashing, no idempotency: what is left is the web server,
JSON parsing and one Redis round trip per request. Run under uvicorn as its own process, like
the ingest service: ``uvicorn benchmarks.bare_ingest:app`` with ``REDIS_URL`` and
``BARE_STREAM`` set.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from fastapi import FastAPI, Request


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.redis = aioredis.Redis.from_url(os.environ["REDIS_URL"])
    app.state.stream = os.environ["BARE_STREAM"]
    yield
    await app.state.redis.aclose()


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/articles", status_code=202)
async def post_one(request: Request) -> dict[str, int]:
    await request.app.state.redis.xadd(request.app.state.stream, {"data": await request.body()})
    return {"accepted": 1}


@app.post("/articles/batch", status_code=202)
async def post_batch(request: Request) -> dict[str, int]:
    items = json.loads(await request.body())
    async with request.app.state.redis.pipeline(transaction=False) as pipe:
        for item in items:
            pipe.xadd(request.app.state.stream, {"data": json.dumps(item)})
        await pipe.execute()
    return {"accepted": len(items)}
