"""A batch through dedupe: features, the agreement protocol, durable commit.

The protocol (see ``services.dedupe.decide``) runs for the whole batch at once, one pipeline per
step: look up, file, query, judge. Most articles are decided by their first look (a first
version, or a copy of an article decided before); they are placed in their stories the same way
and committed together. An article the protocol tells to wait for another (a similar contender
in flight) goes through the same steps alone, waiting as the protocol says, while the rest of
the batch commits: it may well be waiting for one of them.

On one Redis server a commit is one transaction holding the final index writes, the verdicts on
their output streams and the acks of the raw entries: a crash leaves either all of it or none,
so a redelivered article is judged again or finds its recorded verdict and is only acked. On a
Redis Cluster, where a transaction cannot span slots, each story record is updated in its own
slot, then each decision is recorded with its verdict in the article's slot
(``services.dedupe.outbox``), then the verdicts are published and the entries acked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from services.dedupe.boilerplate import edge_keys
from services.dedupe.buckets import Placed, Query
from services.dedupe.decide import (
    Canonical,
    Decision,
    DuplicateOf,
    Entry,
    Outcome,
    State,
    Thresholds,
    WaitFor,
    YieldTo,
    canonical,
    following,
    judge_batch,
    update_of,
)
from services.dedupe.features import features, url_hash
from services.dedupe.filing import FilingOrder
from services.dedupe.index import Filing, LineCounts, Probe, RedisIndex
from services.dedupe.outbox import Outbox, Outgoing, Record
from services.dedupe.partitions import Partitions
from services.dedupe.placing import Placement, StoryPlacer, Unplaced
from services.dedupe.stories import Member, Story
from services.dedupe.story_index import StoryIndex, decode_story, settled
from services.dedupe.turns import in_turns
from shared.consumer import READ_BLOCK_MS, BatchFailures, Delivery
from shared.ids import id_time_ms
from shared.metrics import VERDICT_LATENCY, VERDICTS, WAITED
from shared.models import RawArticle, Verdict
from shared.redis import Replication, is_cluster
from shared.settings import Settings
from shared.streams import DEDUPE_GROUP, encode

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


def _update(owner_id: str, same_text: bool, owner: Decision) -> Decision:
    return update_of(owner, owner_id, same_text)


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


# What a look at the index gives an article: its decision, or whom it waits for; None for a new
# version of an article posted before, which waits for that article's verdict.
Judged = Decision | YieldTo | WaitFor | None


@dataclass(frozen=True)
class Decided:
    """An article decided and placed in its story: what a commit writes."""

    delivery: Delivery[RawArticle]
    filed: _Filed
    decision: Decision
    placement: Placement


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
        self.outbox = Outbox(redis, index.keys) if is_cluster(redis) else None
        self.partitions = Partitions(redis, index.keys, settings.raw_streams, DEDUPE_GROUP)
        self.replication = Replication(settings.wait_replicas, settings.wait_timeout_ms)
        self.filing = FilingOrder()
        # As last seen: the only consumer of the one raw stream. Its batches may then overlap
        # (the filing order keeps them in order); beside other replicas, an article read ahead
        # would wait to be filed, past the settle grace the others give it.
        self.reads_alone = False

    async def handle(self, deliveries: Sequence[Delivery[RawArticle]]) -> None:
        _, failures = await self.run(deliveries)
        if failures:
            raise BatchFailures(failures)

    async def judge(self, delivery: Delivery[RawArticle]) -> Decision:
        decisions, failures = await self.run([delivery])
        if failures:
            raise failures[delivery.message_id]
        return decisions[delivery.message_id]

    async def run(
        self, deliveries: Sequence[Delivery[RawArticle]]
    ) -> tuple[dict[str, Decision], dict[str, BaseException]]:
        """The decision on each entry, or why it failed (by message id).

        The whole batch is filed first, earliest ingest first, then judged: of two similar
        articles in one batch, the later one always sees the earlier one, which ends canonical.
        """
        turn = self.filing.next()
        try:
            ordered = sorted(deliveries, key=lambda d: d.item.id)
            await turn.wait()
            if ordered:
                await self.partitions.taken(ordered[0].stream, [d.item.id for d in ordered])
            batch: dict[str, Delivery[RawArticle]] = {}
            again = [d for d in ordered if batch.setdefault(d.item.id, d) is not d]
            prepared = await self._prepare_all(list(batch.values()))
        finally:
            turn.done()
        decisions = {
            d.message_id: p for d, p in zip(batch.values(), prepared, strict=True)
            if isinstance(p, Decision)
        }  # fmt: skip
        pending = [p for p in prepared if isinstance(p, Pending)]
        judged = await self._decide_all(pending)
        failures: dict[str, BaseException] = {}
        for p, result in zip(pending, await self._settle_all(pending, judged), strict=True):
            if isinstance(result, BaseException):
                failures[p.delivery.message_id] = result
            else:
                decisions[p.delivery.message_id] = result
        for delivery in again:  # the same article twice in one batch: now it finds its verdict
            more, failed = await self.run([delivery])
            decisions |= more
            failures |= failed
        return decisions, failures

    async def prepare(self, delivery: Delivery[RawArticle]) -> Pending | Decision:
        """Compute features and file the article, or return (and ack) a decision already taken."""
        [prepared] = await self._prepare_all([delivery])
        return prepared

    async def _prepare_all(
        self, deliveries: Sequence[Delivery[RawArticle]]
    ) -> list[Pending | Decision]:
        if not deliveries:
            return []
        articles = [d.item for d in deliveries]
        now = _now_ms()
        probes = [
            Probe(a.id, url_hash(a.canonical_url), a.source, edge_keys(a.text) if a.source else [])
            for a in articles
        ]
        lookups = await self.index.look_up(probes, now)
        done = [(d, found) for d, found in zip(deliveries, lookups, strict=True) if found.recorded]
        await self._publish_leftovers({
            d.item.id: Outgoing.model_validate_json(found.unpublished)
            for d, found in done if found.unpublished
        })  # fmt: skip
        if done:
            first = deliveries[0]
            await self.redis.xack(first.stream, first.group, *(d.message_id for d, _ in done))
        prepared: list[Pending | Decision | None] = [found.recorded for found in lookups]
        lines: dict[str, Counter[bytes]] = {}
        filings: dict[int, Filing] = {}
        minimum = self.settings.boilerplate_min_articles - 1
        looked = enumerate(zip(articles, probes, lookups, strict=True))
        async for n, (article, probe, found) in in_turns(looked):
            if found.recorded:
                continue
            # Earlier articles of this batch count as seen, as if filed one by one.
            seen = lines.setdefault(article.source, Counter()) if article.source else Counter()
            recurring = {k for k, c in found.line_counts.items() if c + seen[k] >= minimum}
            seen.update(probe.line_keys)
            feats = features(article.text, article.canonical_url, self.index.signer, recurring)
            ingest_ms = id_time_ms(article.id)
            expiry = self.index.window.entry_expiry_ms(ingest_ms, now)
            entry = Entry(
                article.id, State.CONTENDING, bytes.fromhex(feats.content_hash[:16]),
                feats.size, feats.signature,
            )  # fmt: skip
            owner = found.url_owner
            if owner is not None and owner[0] != article.id:
                filed = _Filed(entry, feats.buckets, None, expiry)
                prepared[n] = Pending(deliveries[n], filed, owner)
                continue
            claim = feats.url_hash if owner is None else None
            generation = self.index.window.filed(now, ingest_ms)
            filings[n] = Filing(entry, feats.buckets, generation, expiry, claim)
        if filings or lines:
            results = await self.index.file_all(list(filings.values()), LineCounts(now, lines))
            for (n, f), result in zip(filings.items(), results, strict=True):
                if not result.filed:  # decided meanwhile: take that decision
                    prepared[n] = await self.prepare(deliveries[n])
                    continue
                owner = result.url_owner
                if owner is not None and owner[0] == f.entry.article_id:
                    owner = None
                filed = _Filed(f.entry, f.buckets, f.generation, f.expiry_ms)
                prepared[n] = Pending(deliveries[n], filed, owner)
        return [p for p in prepared if p is not None]

    async def _decide_all(self, pending: Sequence[Pending]) -> list[Judged]:
        """What one look at the index gives each article (``judge_batch``): its decision, or
        whom it has to wait for; None for a new version of an article posted before."""
        looking = [n for n, p in enumerate(pending) if p.url_owner is None]

        async def look(at: list[int]) -> dict[int, list[Entry]]:
            queries = [
                Query(p.filed.entry.article_id, p.filed.buckets, id_time_ms(p.delivery.item.id))
                for p in (pending[n] for n in at)
            ]
            return dict(zip(at, await self.index.candidates_all(queries, _now_ms()), strict=True))

        def outcomes() -> list[Outcome]:
            batch = [(pending[n].filed.entry, found[n]) for n in looking]
            return judge_batch(batch, self.thresholds)

        found = await look(looking)
        judged = outcomes()
        fresh = [n for n, o in zip(looking, judged, strict=True) if isinstance(o, Canonical)]
        if fresh and await self._second_look():
            # An earlier copy another worker (or partition) took a moment later than this one
            # may not be filed yet: a second look lets it be the canonical one.
            await self._before_second_look(max(pending[n].filed.entry.article_id for n in fresh))
            found |= await look(fresh)
            judged = outcomes()
        decisions: list[Judged] = [None] * len(pending)
        for n, outcome in zip(looking, judged, strict=True):
            if isinstance(outcome, Canonical):
                decisions[n] = canonical(pending[n].filed.entry.article_id)
            elif isinstance(outcome, DuplicateOf):
                decisions[n] = following(outcome.match, canonical(outcome.match.article_id))
            else:
                decisions[n] = outcome
        return decisions

    async def finish(self, pending: Pending) -> Decision:
        """Decide one filed article (waiting on others where the protocol says so), then
        commit."""
        [result] = await self._settle_all([pending], await self._decide_all([pending]))
        if isinstance(result, BaseException):
            raise result
        return result

    async def _settle_all(
        self, pending: Sequence[Pending], judged: Sequence[Judged]
    ) -> list[Decision | BaseException]:
        """Commit what is decided, then wait in rounds for what the rest wait on.

        An article that yielded to an earlier similar one (or is a new version of an article
        posted before) waits for that article's verdict and follows it; one that waits for
        later contenders to settle is judged again once they have. Either way the waiting
        articles of a batch wait together: one poll for all of them, and those decided by a
        round are placed and committed together, as the first look's are.
        """
        results: dict[int, Decision | BaseException] = {}
        decided: dict[int, Decision] = {}
        follows: dict[int, tuple[str, Callable[[Decision], Decision]]] = {}
        contends: dict[int, tuple[str, ...]] = {}
        withdrawing: list[int] = []

        def sort(at: Sequence[int], outcomes: Sequence[Judged]) -> None:
            for n, outcome in zip(at, outcomes, strict=True):
                if isinstance(outcome, Decision):
                    decided[n] = outcome
                elif isinstance(outcome, YieldTo):
                    withdrawing.append(n)
                    follows[n] = (outcome.match.article_id, partial(following, outcome.match))
                elif isinstance(outcome, WaitFor):
                    contends[n] = outcome.article_ids
                else:  # a canonical URL seen before: a new version of the article posted there
                    owner, owner_key = pending[n].url_owner or ("", b"")
                    same_text = owner_key == pending[n].filed.entry.content_key
                    follows[n] = (owner, partial(_update, owner, same_text))

        sort(range(len(pending)), judged)
        WAITED.labels("verdict").inc(len(follows) + len(contends))
        deadline = time.monotonic() + self.settings.decide_timeout_ms / 1000
        try:
            while True:
                if withdrawing:  # first: others wait for it
                    await self.index.withdraw_all(
                        [(pending[n].filed.entry, pending[n].filed.expiry_ms) for n in withdrawing]
                    )
                    withdrawing.clear()
                if decided:
                    concluding = {n: (pending[n], d) for n, d in decided.items()}
                    results |= await self._conclude(concluding)
                    decided.clear()
                if not follows and not contends:
                    break
                recorded, states = await self._progress(
                    [i for i, _ in follows.values()], [*contends.values()], deadline
                )
                for n, (article_id, then) in list(follows.items()):
                    if (decision := recorded.get(article_id)) is not None:
                        decided[n] = then(decision)
                        del follows[n]
                again = [n for n, ids in contends.items()
                         if all(states[i] is not State.CONTENDING for i in ids)]  # fmt: skip
                for n in again:
                    del contends[n]
                sort(again, await self._decide_all([pending[n] for n in again]))
        except Exception as exc:  # the articles not decided yet are retried
            results = {n: results.get(n, exc) for n in range(len(pending))}
        return [results[n] for n in range(len(pending))]

    async def _progress(
        self,
        followed: Sequence[str],
        contending: Sequence[Sequence[str]],
        deadline: float,
    ) -> tuple[dict[str, Decision | None], dict[str, State | None]]:
        """Wait until one of the ``followed`` articles has its verdict, or one group of
        ``contending`` articles has settled; what the index then holds of them."""
        recorded: dict[str, Decision | None] = {}
        states: dict[str, State | None] = {}
        ids = sorted({i for group in contending for i in group})

        async def moved() -> bool:
            recorded.update(await self.index.recorded_all(followed) if followed else {})
            states.update(await self.index.states(ids) if ids else {})
            return any(d is not None for d in recorded.values()) or any(
                all(states[i] is not State.CONTENDING for i in group) for group in contending
            )

        what = f"articles {', '.join(sorted({*followed, *ids}))} did not settle"
        await self._poll(moved, deadline, what)
        return recorded, states

    async def _conclude(
        self, decided: dict[int, tuple[Pending, Decision]]
    ) -> dict[int, Decision | BaseException]:
        """Place decided articles in their stories and commit them: those that need not wait
        for another article's story at once, the others as rounds of waiting place them."""
        try:
            placements = await self.placer.place_all(
                [(p.delivery.item, d) for p, d in decided.values()]
            )
        except Exception as exc:
            return dict.fromkeys(decided, exc)
        placed = dict(zip(decided, placements, strict=True))
        unplaced = {n: p for n, p in placed.items() if isinstance(p, Unplaced)}
        WAITED.labels("story").inc(len(unplaced))
        # Under way while the rest commits: they may wait for one of them.
        later = asyncio.ensure_future(self._place_rest(unplaced, decided))
        results = await self._commit_placed(
            {n: p for n, p in placed.items() if isinstance(p, Placement)}, decided
        )
        return results | await later

    async def _place_rest(
        self, unplaced: dict[int, Unplaced], decided: dict[int, tuple[Pending, Decision]]
    ) -> dict[int, Decision | BaseException]:
        if not unplaced:
            return {}
        at = list(unplaced)
        results: dict[int, Decision | BaseException] = {}
        try:
            async for placed in self.placer.rounds(list(unplaced.values()), self._poll):
                results |= await self._commit_placed({at[i]: p for i, p in placed.items()}, decided)
        except Exception as exc:  # the articles not placed yet are retried
            return {n: results.get(n, exc) for n in at}
        return results

    async def _commit_placed(
        self, placed: dict[int, Placement], decided: dict[int, tuple[Pending, Decision]]
    ) -> dict[int, Decision | BaseException]:
        ready = [
            Decided(decided[n][0].delivery, decided[n][0].filed, decided[n][1], placement)
            for n, placement in placed.items()
        ]
        try:
            return dict(zip(placed, await self._commit_all(ready), strict=True))
        except Exception as exc:
            return dict.fromkeys(placed, exc)

    async def _second_look(self) -> bool:
        """Only where another replica or partition may be filing an earlier copy: a replica
        reading one stream alone gives its articles no grace (nobody else files anything)."""
        if len(self.partitions.streams) > 1:
            return True
        # Seen at least every read (one blocks this long at most) and every re-claim of the
        # entries it holds (three times per claim_idle_ms); unseen for longer, it is gone.
        seen_within = self.settings.claim_idle_ms + READ_BLOCK_MS
        if self.settings.settle_ms <= 0:
            return False
        others = await self.partitions.others_reading(self.settings.consumer_name, seen_within)
        self.reads_alone = not others
        return others

    async def _before_second_look(self, article_id: str) -> None:
        """Every partition delivered what was ingested by then, and a grace for the replicas
        that took it to file it (``services.dedupe.partitions``)."""
        timeout = min(self.settings.partition_wait_ms, self.settings.claim_idle_ms / 2) / 1000
        await self.partitions.wait_delivered(article_id, timeout)
        await asyncio.sleep(self.settings.settle_ms / 1000)

    @staticmethod
    async def _poll(check: Callable[[], Awaitable[bool]], deadline: float, what: str) -> None:
        """Wait for ``check``. The consumer keeps the waiting entries claimed meanwhile, so no
        other worker takes them over."""
        delay = 0.002
        while not await check():
            if time.monotonic() >= deadline:
                raise SettleTimeout(what)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def _commit_all(self, ready: Sequence[Decided]) -> list[Decision]:
        if not ready:
            return []
        if self.outbox is not None:
            return await self._commit_slotwise(ready, self.outbox)
        return await self._commit_at_once(ready)

    async def _commit_at_once(self, ready: Sequence[Decided]) -> list[Decision]:
        """One transaction for the batch: index writes, stories, verdicts, acks."""
        keys = self.index.keys
        ids = [r.delivery.item.id for r in ready]
        # Another consumer judging one of these entries (a reclaim of a slow one) changes one of
        # these keys when it commits; this commit then fails and finds its verdicts. The story
        # keys too: other articles joining the same stories at once.
        watched = [
            key
            for r in ready
            for key in (keys.verdict(r.delivery.item.id), keys.entry(r.delivery.item.id),
                        keys.story(r.placement.story_id))
        ]  # fmt: skip
        story_ids = sorted({r.placement.story_id for r in ready})
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                await pipe.watch(*watched)
                recorded = await self.index.recorded_all(ids, watching=pipe)
                stories = await self.stories.stories(story_ids, watching=pipe)
                pipe.multi()  # type: ignore[no-untyped-call]
                now = _now_ms()
                counted: Counter[str] = Counter()
                documents = 0
                joined: list[tuple[Member, Story]] = []
                for r in ready:
                    article = r.delivery.item
                    if recorded[article.id] is not None:
                        continue
                    filed = r.filed
                    await self.index.record(
                        pipe, filed.entry, filed.buckets, filed.generation, r.decision,
                        filed.expiry_ms,
                    )  # fmt: skip
                    story = self.placer.story_after(r.placement, article, stories)
                    if story is not None and r.placement.member is not None:
                        self.stories.settle(
                            pipe, r.placement.member, story, r.placement.expiry_ms, now
                        )
                        joined.append((r.placement.member, story))
                        counted.update(r.placement.counted)
                        documents += 1
                    story_id = story.story_id if story else r.placement.story_id
                    story_terms = story.top_terms() if story else []
                    verdict = verdict_for(article, r.decision, story_id, story_terms)
                    pipe.xadd(self._stream_for(r.decision), encode(verdict))
                if documents:
                    await self.stories.count(pipe, counted, documents, now)
                first = ready[0].delivery
                pipe.xack(first.stream, first.group, *(r.delivery.message_id for r in ready))
                try:
                    await pipe.execute()
                except WatchError:
                    continue
                self.stories.committed(joined)
                break
        return self._finals(ready, recorded, now)

    async def _commit_slotwise(self, ready: Sequence[Decided], outbox: Outbox) -> list[Decision]:
        """The batch's commit on a cluster: stories, then each decision with its verdict in the
        article's slot, then the verdicts on their streams, then the acks."""
        ids = [r.delivery.item.id for r in ready]
        recorded = await self.index.recorded_all(ids)
        live = [r for r in ready if recorded[r.delivery.item.id] is None]
        stories = await self._settle_stories(live)
        records = []
        for r in live:
            article = r.delivery.item
            story, member = stories.get(article.id), r.placement.member
            verdict = verdict_for(
                article, r.decision, story.story_id if story else r.placement.story_id,
                story.top_terms() if story else [],
            )  # fmt: skip
            records.append(
                Record(
                    article.id, r.decision.is_canonical,
                    self.index.final_record(r.filed.entry, r.decision), r.filed.expiry_ms,
                    settled(member, story) if story and member else None, r.placement.expiry_ms,
                    Outgoing(stream=self._stream_for(r.decision), verdict=verdict),
                )
            )  # fmt: skip
        won = await outbox.record_all(records)
        self.stories.committed(
            (member, stories[r.delivery.item.id])
            for r, ok in zip(live, won, strict=True)
            if ok and (member := r.placement.member) is not None and r.delivery.item.id in stories
        )
        mine = [(r, record) for r, record, ok in zip(live, records, won, strict=True) if ok]
        now = _now_ms()
        joined = [r for r, _ in mine if r.delivery.item.id in stories]
        counted = Counter(term for r in joined for term in r.placement.counted)
        async with self.redis.pipeline(transaction=False) as pipe:
            waits = self._queue_publish(pipe, [record.outgoing for _, record in mine])
            leaving = [
                Placed(r.delivery.item.id, r.filed.buckets, r.filed.generation)
                for r, _ in mine
                if not r.decision.is_canonical and r.filed.generation is not None
            ]
            await self.index.buckets.remove(pipe, leaving)
            if joined:
                await self.stories.count(pipe, counted, len(joined), now)
            replies = await pipe.execute()
        self.replication.check(replies[len(mine) : len(mine) + waits])
        await outbox.clear([record.article_id for _, record in mine])
        # Recorded by an earlier attempt (or another consumer) that may have died before
        # publishing: its verdict goes out before the entry is acked.
        taken = [r.delivery.item.id for r, ok in zip(live, won, strict=True) if not ok]
        earlier = [i for i in ids if recorded[i] is not None]
        await self._publish_leftovers(await outbox.pending(earlier + taken))
        first = ready[0].delivery
        await self.redis.xack(first.stream, first.group, *(r.delivery.message_id for r in ready))
        if taken:  # another consumer recorded these first: theirs stands
            recorded |= await self.index.recorded_all(taken)
        return self._finals(ready, recorded, now)

    async def _settle_stories(self, ready: Sequence[Decided]) -> dict[str, Story]:
        """Each canonical article's story once it is in it: every record read, updated and
        written unless changed meanwhile (in its own slot), all in one round trip each way; the
        stories another consumer changed first are settled again."""
        joining: defaultdict[str, list[Decided]] = defaultdict(list)
        for r in ready:
            if r.placement.member is not None:
                joining[r.placement.story_id].append(r)
        after: dict[str, Story] = {}
        opened: list[Story] = []
        now = _now_ms()
        while joining:
            records = await self.stories.records(list(joining))
            tried = []
            for (story_id, rs), raw in zip(joining.items(), records, strict=True):
                stories = {story_id: decode_story(raw)} if raw else {}
                placed = {}
                for r in rs:
                    story = self.placer.story_after(r.placement, r.delivery.item, stories)
                    if story is not None:
                        placed[r.delivery.item.id] = story
                tried.append((story_id, raw, stories, placed))
            now = _now_ms()
            writes = [(stories[i], raw) for i, raw, stories, _ in tried if i in stories]
            lost = {story.story_id for (story, _), written
                    in zip(writes, await self.stories.replace_all(writes, now), strict=True)
                    if not written}  # fmt: skip
            for story_id, _, stories, placed in tried:
                if story_id not in lost:
                    after |= placed
                    # A story that had closed: its articles opened new ones, under their own
                    # ids (slots), which nobody else can see until their members are recorded.
                    opened += [s for i, s in stories.items() if i != story_id]
            joining = defaultdict(list, {i: joining[i] for i in lost})
        if opened:
            async with self.redis.pipeline(transaction=False) as pipe:
                for story in opened:
                    self.stories.keep(pipe, story, now)
                await pipe.execute()
        return after

    async def _publish_leftovers(self, leftovers: dict[str, Outgoing]) -> None:
        """Publish verdicts recorded but not published (a crash between), then clear them."""
        if not leftovers:
            return
        outgoing = list(leftovers.values())
        async with self.redis.pipeline(transaction=False) as pipe:
            waits = self._queue_publish(pipe, outgoing)
            replies = await pipe.execute()
        self.replication.check(replies[len(outgoing) : len(outgoing) + waits])
        assert self.outbox is not None  # only a cluster's commits leave outboxes
        await self.outbox.clear(list(leftovers))

    def _queue_publish(self, pipe: Pipeline, outgoing: Sequence[Outgoing]) -> int:
        """Queue the verdicts onto their streams, then the WAITs that make them durable before
        their outboxes are cleared; how many WAITs."""
        for message in outgoing:
            pipe.xadd(message.stream, encode(message.verdict))
        return self.replication.queue_wait(pipe, sorted({m.stream for m in outgoing}))

    def _finals(
        self, ready: Sequence[Decided], recorded: dict[str, Decision | None], now: int
    ) -> list[Decision]:
        """The decision on each article, counted and logged; an earlier record stands."""
        finals = []
        for r in ready:
            article = r.delivery.item
            final = recorded[article.id] or r.decision
            if recorded[article.id] is None:
                VERDICTS.labels(final.status, final.reason or "").inc()
                VERDICT_LATENCY.observe(max(0.0, (now - id_time_ms(article.id)) / 1000))
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
            finals.append(final)
        return finals

    def _stream_for(self, decision: Decision) -> str:
        if decision.is_canonical:
            return self.settings.stream_canonical
        return self.settings.stream_duplicates
