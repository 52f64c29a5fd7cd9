"""The ``GET /health`` route every service serves: ready when its dependencies answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

Check = Callable[[Request], Awaitable[object]]


def health_router(**checks: Check) -> APIRouter:
    router = APIRouter()

    @router.get("/health")
    async def health(request: Request) -> JSONResponse:
        failures = {}
        for name, check in checks.items():
            try:
                await check(request)
            except Exception as exc:
                failures[name] = type(exc).__name__
        if failures:
            return JSONResponse({"status": "unavailable", "failing": failures}, status_code=503)
        return JSONResponse({"status": "ok"})

    return router


async def redis_ping(request: Request) -> object:
    return await request.app.state.redis.ping()
