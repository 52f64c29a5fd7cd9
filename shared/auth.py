"""API keys: ``Authorization: Bearer <key>``, checked in constant time against every key.

No keys configured means the API is open (a laptop, a test); the services then log a warning at
start-up, so an open production deployment is visible in its logs.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Sequence

from fastapi import HTTPException, Request

log = logging.getLogger("newsdedup.auth")


def key_matches(offered: str, keys: Sequence[str]) -> bool:
    """Every key is compared, whatever matched, so timing tells nothing about the keys."""
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(offered.encode(), key.encode())
    return matched


def require_api_key(keys: Sequence[str], service: str) -> Callable[[Request], None]:
    """A FastAPI dependency that lets a request through only with one of ``keys``."""
    if not keys:
        log.warning("no API keys set: the %s API accepts any client", service)

    def check(request: Request) -> None:
        if not keys:
            return
        scheme, _, offered = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not offered or not key_matches(offered.strip(), keys):
            raise HTTPException(
                401,
                detail="missing or invalid API key: send 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check
