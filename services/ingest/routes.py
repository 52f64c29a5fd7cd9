"""Ingest HTTP routes: validate, prepare, enqueue, answer 202."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.ingest.prepare import NoArticleText, prepare
from services.ingest.queue import RawQueue
from shared.errors import problem
from shared.ids import new_id
from shared.metrics import ARTICLES_INGESTED
from shared.models import Accepted, ArticleIn, BatchAccepted, RawArticle
from shared.settings import Settings

router = APIRouter()
log = logging.getLogger("newsdedup.ingest")


def get_queue(request: Request) -> RawQueue:
    queue: RawQueue = request.app.state.queue
    return queue


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


QueueDep = Annotated[RawQueue, Depends(get_queue)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


def _prepare_all(items: list[ArticleIn], batch: bool) -> list[RawArticle]:
    """Prepare every item or none: a batch with one bad item enqueues nothing."""
    now = datetime.now(UTC)
    prepared: list[RawArticle] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            prepared.append(prepare(item, new_id(), now))
        except NoArticleText as exc:
            loc = ["body", index, exc.field] if batch else ["body", exc.field]
            errors.append({"loc": loc, "msg": str(exc), "type": "value_error"})
    if errors:
        raise RequestValidationError(errors)
    return prepared


def _idem_key(route: str, key: str | None) -> str | None:
    if key is None:
        return None
    return f"{route}:{hashlib.sha256(key.encode()).hexdigest()}"


def require_json(content_type: Annotated[str | None, Header()] = None) -> None:
    """A body is read as JSON only when it says it is: another media type (a form, plain text,
    none) is a 415, not a validation error about a body never read as JSON."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        msg = "the body must be JSON: send Content-Type: application/json"
        raise HTTPException(
            415, [problem(["header", "content-type"], msg, "unsupported_media_type")]
        )


@router.post(
    "/articles", status_code=202, response_model=Accepted, dependencies=[Depends(require_json)]
)
async def post_article(
    article: ArticleIn,
    queue: QueueDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    if article.html is not None and article.text is None:
        raw = await run_in_threadpool(_prepare_all, [article], False)
    else:
        raw = _prepare_all([article], False)
    response = Accepted(id=raw[0].id).model_dump_json()
    previous = await queue.enqueue(raw, response, _idem_key("one", idempotency_key))
    if previous is None:
        ARTICLES_INGESTED.inc()
        log.info("accepted", extra={"article_id": raw[0].id, "source": raw[0].source})
    return JSONResponse(json.loads(previous or response), status_code=202)


@router.post(
    "/articles/batch", status_code=202, response_model=BatchAccepted,
    dependencies=[Depends(require_json)],
)  # fmt: skip
async def post_batch(
    articles: list[ArticleIn],
    queue: QueueDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    if not articles or len(articles) > settings.max_batch_items:
        raise RequestValidationError(
            [
                {
                    "loc": ["body"],
                    "type": "too_long" if articles else "too_short",
                    "msg": f"a batch holds 1 to {settings.max_batch_items} articles",
                }
            ]
        )
    raw = await run_in_threadpool(_prepare_all, articles, True)
    response = BatchAccepted(ids=[a.id for a in raw]).model_dump_json()
    previous = await queue.enqueue(raw, response, _idem_key("batch", idempotency_key))
    if previous is None:
        ARTICLES_INGESTED.inc(len(raw))
        for article in raw:
            log.info("accepted", extra={"article_id": article.id, "source": article.source})
    return JSONResponse(json.loads(previous or response), status_code=202)
