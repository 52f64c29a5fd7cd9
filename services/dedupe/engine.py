"""One article through dedupe: features, the agreement protocol, durable commit.

The protocol (see ``services.dedupe.decide``) runs for every article of a batch at once: an
article may have to wait for another one of the same batch to settle. The commit is one Redis
transaction holding the final index writes, the verdict on its output stream and the ack of the
raw entry: a crash leaves either all of it or none, so a redelivered article is judged again or
finds its recorded verdict and is only acked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from services.dedupe.boilerplate import edge_keys
from services.dedupe.decide import (
    Canonical,
    Decision,
    DuplicateOf,
    Entry,
    State,
    Thresholds,
    WaitFor,
    YieldTo,
    canonical,
    following,
    judge,
    update_of,
)
from services.dedupe.features import features
from services.dedupe.index import RedisIndex
from services.dedupe.placing import Placement, StoryPlacer, Terms
from services.dedupe.story_index import StoryIndex
from shared.consumer import BatchFailures, Delivery
from shared.ids import id_time_ms
from shared.metrics import VERDICT_LATENCY, VERDICTS
from shared.models import RawArticle, Verdict
from shared.settings import Settings
from shared.streams import encode

log = logging.getLogger("newsdedup.dedupe")


class SettleTimeout(RuntimeError):
    """Another article this one depends on did not settle in time; the delivery is retried.

    Not a ``TimeoutError``: that is an ``OSError``, which the consumer takes for an outage.
    """


def verdict_for(
    article: RawArticle, decision: Decision, story_id: str, story_terms: list[str]
) -> Verdict:
    return Verdict(
        **article.model_dump(),
        status=decision.status,
        canonical_id=decision.canonical_id,
        similarity=decision.similarity,
        reason=decision.reason,
        measure=decision.measure,
        matched_id=decision.matched_id,
        story_id=story_id,
        story_terms=story_terms,
        decided_at=datetime.now(UTC),
    )


def thresholds_for(settings: Settings) -> Thresholds:
    return Thresholds(
        settings.threshold, settings.containment_threshold, settings.containment_min_shingles
    )


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class _Filed:
    """Where an article sits in the index while the protocol runs."""

    entry: Entry
    buckets: Sequence[bytes]
    generation: int | None
    expiry_ms: int


@dataclass(frozen=True)
class Pending:
    """A filed article waiting to be judged; ``url_owner`` if its URL was posted before."""

    delivery: Delivery[RawArticle]
    filed: _Filed
    url_owner: tuple[str, bytes] | None
    terms: Terms


class DedupeEngine:
    def __init__(
        self, redis: aioredis.Redis, index: RedisIndex, stories: StoryIndex, settings: Settings
    ) -> None:
        self.redis = redis
        self.index = index
        self.stories = stories
        self.settings = settings
        self.thresholds = thresholds_for(settings)
        self.placer = StoryPlacer(
            stories, settings.story_threshold, settings.decide_timeout_ms / 1000
        )

    async def handle(self, deliveries: Sequence[Delivery[RawArticle]]) -> None:
        """Files the whole batch first, earliest ingest first, then judges it concurrently.

        Filing before judging means that of two similar articles in one batch, the later one
        always sees the earlier one, so the earlier one ends canonical.
        """
        ordered = sorted(deliveries, key=lambda d: d.item.id)
        prepared = await asyncio.gather(*(self.prepare(d) for d in ordered), return_exceptions=True)
        pending = [p for p in prepared if isinstance(p, Pending)]
        if pending:
            # Filing took time; claim the entries afresh so none looks abandoned while judged.
            await self.redis.xclaim(
                pending[0].delivery.stream, pending[0].delivery.group,
                self.settings.consumer_name, 0, [p.delivery.message_id for p in pending],
                justid=True,
            )  # fmt: skip
        finished = await asyncio.gather(*(self.finish(p) for p in pending), return_exceptions=True)
        failures: dict[str, BaseException] = {
            d.message_id: r
            for d, r in zip(ordered, prepared, strict=True)
            if isinstance(r, Exception)
        }
        failures |= {
            p.delivery.message_id: r
            for p, r in zip(pending, finished, strict=True)
            if isinstance(r, Exception)
        }
        if failures:
            raise BatchFailures(failures)

    async def judge(self, delivery: Delivery[RawArticle]) -> Decision:
        prepared = await self.prepare(delivery)
        return prepared if isinstance(prepared, Decision) else await self.finish(prepared)

    async def prepare(self, delivery: Delivery[RawArticle]) -> Pending | Decision:
        """Compute features and file the article, or return (and ack) a decision already taken."""
        article = delivery.item
        recorded = await self.index.recorded(article.id)
        if recorded is not None:
            await self.redis.xack(delivery.stream, delivery.group, delivery.message_id)
            return recorded
        now = _now_ms()
        ingest_ms = id_time_ms(article.id)
        recurring: set[bytes] = set()
        if article.source:
            recurring = await self.index.recurring_lines(
                article.source,
                edge_keys(article.text),
                now,
                self.settings.boilerplate_min_articles,
            )
        feats = features(article.text, article.canonical_url, self.index.signer, recurring)
        terms = await self.placer.terms_of(article)
        expiry = self.index.window.entry_expiry_ms(ingest_ms, now)
        entry = Entry(
            article.id, State.CONTENDING, bytes.fromhex(feats.content_hash[:16]), feats.size,
            feats.signature,
        )  # fmt: skip
        if feats.url_hash is not None:
            owner = await self.index.claim_url(
                feats.url_hash, article.id, entry.content_key, expiry
            )
            if owner[0] != article.id:
                return Pending(delivery, _Filed(entry, feats.buckets, None, expiry), owner, terms)
        generation = self.index.window.filed(now, ingest_ms)
        if not await self.index.insert(entry, feats.buckets, generation, expiry):
            return await self.prepare(delivery)  # decided meanwhile: take that decision
        return Pending(delivery, _Filed(entry, feats.buckets, generation, expiry), None, terms)

    async def finish(self, pending: Pending) -> Decision:
        """Decide (waiting on other articles where the protocol says so), then commit."""
        if pending.url_owner is not None:
            # A canonical URL seen before: this is a new version of the article posted there.
            owner, owner_key = pending.url_owner
            same_text = owner_key == pending.filed.entry.content_key
            decision = update_of(await self._settled(owner, pending.delivery), owner, same_text)
        else:
            decision = await self._by_content(pending.filed, pending.delivery)

        async def poll(check: Callable[[], Awaitable[bool]], deadline: float, what: str) -> None:
            await self._poll(check, deadline, what, pending.delivery)

        placement = await self.placer.place(pending.delivery.item, decision, poll, pending.terms)
        return await self._commit(pending.delivery, pending.filed, decision, placement)

    async def _by_content(self, filed: _Filed, delivery: Delivery[RawArticle]) -> Decision:
        entry = filed.entry
        ingest_ms = id_time_ms(entry.article_id)
        deadline = time.monotonic() + self.settings.decide_timeout_ms / 1000
        grace = self.settings.settle_ms / 1000
        while True:
            candidates = await self.index.candidates(
                entry.article_id, filed.buckets, _now_ms(), ingest_ms
            )
            outcome = judge(entry, candidates, self.thresholds)
            if isinstance(outcome, Canonical):
                if grace <= 0:
                    return canonical(entry.article_id)
                # An earlier copy taken by another worker a moment later than this one may not
                # be filed yet; one look after a short grace lets it be the canonical one.
                await asyncio.sleep(grace)
                grace = 0
                continue
            if isinstance(outcome, DuplicateOf):
                return following(outcome.match, canonical(outcome.match.article_id))
            if isinstance(outcome, YieldTo):
                await self.index.withdraw(entry, filed.expiry_ms)
                matched = await self._settled(outcome.match.article_id, delivery)
                return following(outcome.match, matched)
            assert isinstance(outcome, WaitFor)
            waiting = outcome.article_ids

            async def settled(ids: Sequence[str] = waiting) -> bool:
                states = await self.index.states(ids)
                return all(s is not State.CONTENDING for s in states.values())

            what = f"later contenders {', '.join(waiting)} did not settle"
            await self._poll(settled, deadline, what, delivery)

    async def _settled(self, article_id: str, delivery: Delivery[RawArticle]) -> Decision:
        """The final decision on an article another replica (or this one) is judging."""
        deadline = time.monotonic() + self.settings.decide_timeout_ms / 1000
        found: list[Decision] = []

        async def check() -> bool:
            decision = await self.index.recorded(article_id)
            if decision is not None:
                found.append(decision)
            return decision is not None

        await self._poll(check, deadline, f"article {article_id} was not decided", delivery)
        return found[0]

    async def _poll(
        self,
        check: Callable[[], Awaitable[bool]],
        deadline: float,
        what: str,
        delivery: Delivery[RawArticle],
    ) -> None:
        """Wait for ``check``, keeping the delivery claimed so no other worker takes it over.

        A delivery idle for ``claim_idle_ms`` is reclaimed as abandoned; re-claiming it for this
        consumer (XCLAIM JUSTID) resets its idle time while it legitimately waits.
        """
        delay = 0.002
        touch_every = self.settings.claim_idle_ms / 2000
        next_touch = time.monotonic() + touch_every
        while not await check():
            now = time.monotonic()
            if now >= deadline:
                raise SettleTimeout(what)
            if now >= next_touch:
                await self.redis.xclaim(
                    delivery.stream, delivery.group, self.settings.consumer_name, 0,
                    [delivery.message_id], justid=True,
                )  # fmt: skip
                next_touch = now + touch_every
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def _commit(
        self,
        delivery: Delivery[RawArticle],
        filed: _Filed,
        decision: Decision,
        placement: Placement,
    ) -> Decision:
        article = delivery.item
        out = (
            self.settings.stream_canonical
            if decision.is_canonical
            else self.settings.stream_duplicates
        )
        keys = self.index.keys
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                # A second consumer judging the same entry (a reclaim of a slow one) changes one
                # of these keys when it commits; this commit then fails and finds its verdict.
                # The story key too: another article joining the same story at once.
                await pipe.watch(
                    keys.verdict(article.id), keys.entry(article.id), keys.story(placement.story_id)
                )
                recorded = await self.index.recorded(article.id, watching=pipe)
                story = await self.placer.story_after(pipe, placement, article)
                pipe.multi()  # type: ignore[no-untyped-call]
                if recorded is None:
                    self.index.record(
                        pipe, filed.entry, filed.buckets, filed.generation, decision,
                        filed.expiry_ms,
                    )  # fmt: skip
                    if story is not None and placement.member is not None:
                        self.stories.settle(
                            pipe, placement.member, story, placement.expiry_ms, _now_ms()
                        )
                        self.stories.count(pipe, placement.counted, _now_ms())
                    story_id = story.story_id if story else placement.story_id
                    story_terms = story.top_terms() if story else []
                    verdict = verdict_for(article, decision, story_id, story_terms)
                    pipe.xadd(out, encode(verdict))
                pipe.xack(delivery.stream, delivery.group, delivery.message_id)
                try:
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        final = recorded or decision
        if recorded is None:
            VERDICTS.labels(final.status, final.reason or "").inc()
            VERDICT_LATENCY.observe(max(0.0, (_now_ms() - id_time_ms(article.id)) / 1000))
        log.info(
            "verdict",
            extra={
                "article_id": article.id,
                "status": final.status,
                "canonical_id": final.canonical_id,
                "reason": final.reason,
                "measure": final.measure,
                "similarity": final.similarity,
            },
        )
        return final
