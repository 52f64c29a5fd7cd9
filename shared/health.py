"""The ``GET /health`` route every service serves: ready when its dependencies answer, with
what the service says of its own work beside the status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

Check = Callable[[Request], Awaitable[object]]
Details = Callable[[Request], Awaitable[dict[str, Any]]]


def health_router(checks: Mapping[str, Check], details: Details | None = None) -> APIRouter:
    """``checks``: each must not raise for the service to be ready; ``details``: what else the
    answer holds (read when the checks pass)."""
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
        return JSONResponse({"status": "ok", **(await details(request) if details else {})})

    return router


async def redis_ping(request: Request) -> object:
    return await request.app.state.redis.ping()
