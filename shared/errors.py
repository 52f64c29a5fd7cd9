"""The error bodies both APIs answer with: FastAPI's shape, minus what must not be echoed.

FastAPI's 422 repeats each bad value as ``input``: for an article that can be megabytes, and a
lone surrogate in it makes the error response itself fail to encode (a 500). Ours names the
field (``loc``), the problem (``msg``) and its kind (``type``), and stops there. A body that is
not UTF-8 gets the same shape instead of FastAPI's bare "error parsing the body".
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

# FastAPI raises exactly this when the body bytes cannot be decoded (not for invalid JSON).
_UNDECODABLE_BODY = "There was an error parsing the body"


def problem(loc: list[str | int], msg: str, kind: str) -> dict[str, object]:
    return {"loc": loc, "msg": msg, "type": kind}


def unavailable(message: str, retry_after: int) -> JSONResponse:
    """503: nothing happened, and the same request may be sent again after ``retry_after`` s."""
    return JSONResponse(
        {"detail": [problem([], message, "unavailable")]},
        status_code=503,
        headers={"Retry-After": str(retry_after)},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            problem(list(e.get("loc", ())), str(e.get("msg", "")), str(e.get("type", "")))
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == _UNDECODABLE_BODY:
            msg = "the body is not JSON in UTF-8"
            body: object = [problem(["body"], msg, "json_invalid")]
        else:
            body = exc.detail
        return JSONResponse({"detail": body}, status_code=exc.status_code, headers=exc.headers)
