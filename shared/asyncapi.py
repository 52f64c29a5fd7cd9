"""The AsyncAPI document of the streams: who writes which stream, who reads it, in what shape.

The services write streams with redis-py and read them through ``shared.consumer``; this module
declares the same streams on a FastStream broker that is never started, with the message models,
so FastStream can describe them.
"""

from __future__ import annotations

import json
from typing import Any

from faststream.redis import RedisBroker, StreamSub
from faststream.specification import AsyncAPI

from shared.models import DeadLetter, RawArticle, Verdict
from shared.settings import Settings
from shared.streams import DEDUPE_GROUP, STORE_GROUP


def asyncapi_document(settings: Settings) -> dict[str, Any]:
    broker = RedisBroker(settings.redis_url or "redis://127.0.0.1:6379")
    broker.publisher(
        stream=settings.stream_raw, schema=RawArticle, title=f"ingest → {settings.stream_raw}",
        description="Every article accepted with 202: text extracted, URL canonicalised.",
    )  # fmt: skip
    for stream, what in (
        (settings.stream_canonical, "Canonical articles, each once, with their story."),
        (settings.stream_duplicates, "Duplicates and updates, each once, with their canonical."),
    ):
        broker.publisher(stream=stream, schema=Verdict, title=f"dedupe → {stream}",
                         description=what)  # fmt: skip
    broker.publisher(
        stream=settings.stream_dead, schema=DeadLetter,
        title=f"any consumer → {settings.stream_dead}",
        description="Entries that failed max_deliveries times, or never parsed, with the error.",
    )  # fmt: skip

    @broker.subscriber(
        stream=StreamSub(settings.stream_raw, group=DEDUPE_GROUP, consumer="dedupe"),
        title=f"{settings.stream_raw} → dedupe (group {DEDUPE_GROUP})",
    )
    async def dedupe(article: RawArticle) -> None: ...

    for stream in (settings.stream_canonical, settings.stream_duplicates):

        @broker.subscriber(
            stream=StreamSub(stream, group=STORE_GROUP, consumer="store"),
            title=f"{stream} → store (group {STORE_GROUP})",
        )
        async def store(verdict: Verdict) -> None: ...

    spec = AsyncAPI(
        broker,
        title="newsdedup streams",
        description="Each entry has one field, __data__, holding the message as JSON.",
    ).to_specification()
    document: dict[str, Any] = json.loads(spec.to_json())
    return document
