"""One article through dedupe: features, evidence from the index, decision, durable commit.

The commit is one Redis transaction holding the index writes, the verdict on its output stream
and the ack of the raw entry: a crash leaves either all of it or none, so a redelivered article
is judged again from scratch or finds its recorded verdict and is only acked.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from services.dedupe.decide import Decision, decide
from services.dedupe.features import features
from services.dedupe.index import RedisIndex
from shared.consumer import Delivery
from shared.models import RawArticle, Verdict
from shared.settings import Settings
from shared.streams import encode

log = logging.getLogger("newsdedup.dedupe")


def verdict_for(article: RawArticle, decision: Decision) -> Verdict:
    return Verdict(
        **article.model_dump(),
        status=decision.status,
        canonical_id=decision.canonical_id,
        similarity=decision.similarity,
        reason=decision.reason,
        measure=decision.measure,
        # Until stories group related coverage, each canonical article is its own story.
        story_id=decision.canonical_id,
        decided_at=datetime.now(UTC),
    )


class DedupeEngine:
    def __init__(self, redis: aioredis.Redis, index: RedisIndex, settings: Settings) -> None:
        self.redis = redis
        self.index = index
        self.settings = settings

    async def handle(self, deliveries: Sequence[Delivery[RawArticle]]) -> None:
        # In order: an article must see the index writes of the one before it in the batch.
        for delivery in deliveries:
            await self.judge(delivery)

    async def judge(self, delivery: Delivery[RawArticle]) -> Decision:
        article = delivery.item
        verdict_key = self.index.keys.verdict(article.id)
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                # WATCH makes a second consumer racing on the same entry (a reclaim of a slow
                # one) fail its commit instead of publishing the article twice.
                await pipe.watch(verdict_key)
                recorded = await self.index.recorded(article.id)
                if recorded is not None:
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.xack(delivery.stream, delivery.group, delivery.message_id)
                    await pipe.execute()
                    return recorded
                feats = features(article.text, article.canonical_url, self.index.signer)
                evidence = await self.index.evidence(feats)
                decision = decide(
                    article.id,
                    feats.signature,
                    exact_owner=evidence.exact_owner,
                    url_owner=evidence.url_owner,
                    candidates=evidence.candidates,
                    threshold=self.settings.threshold,
                )
                verdict = verdict_for(article, decision)
                out = (
                    self.settings.stream_canonical
                    if decision.is_canonical
                    else self.settings.stream_duplicates
                )
                pipe.multi()  # type: ignore[no-untyped-call]
                self.index.record(pipe, article.id, feats, decision)
                pipe.xadd(out, encode(verdict))
                pipe.xack(delivery.stream, delivery.group, delivery.message_id)
                try:
                    await pipe.execute()
                except WatchError:
                    continue
            log.info(
                "verdict",
                extra={
                    "article_id": article.id,
                    "status": decision.status,
                    "canonical_id": decision.canonical_id,
                    "reason": decision.reason,
                },
            )
            return decision
