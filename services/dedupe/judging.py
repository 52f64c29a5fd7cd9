"""The judge at work: whichever dedupe process holds the lease reads the raw streams in order,
judges each article and commits each batch through the journal.

It reads through its own consumer group (``judge``) as one fixed consumer, so the group's
pending entries are exactly what a judge took and did not commit: a new judge reads those
first, then new entries. On one Redis server its reads are fenced too (a script that checks
the lease, then XREADGROUP), so a judge that lost its lease cannot take entries away from the
next. Text features come from the replicas' text work (``text_worker``); an article whose
features are not there yet is worked on here, so the judge never waits for a replica.

Any error in a commit or a read leaves the state possibly ahead of what was committed: the
judge then lets go of it and restores it again from the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import ResponseError
from redis.typing import EncodableT

from services.dedupe.journal import Batch, Journal, Judgement, JudgeState, Outgoing, stream_id
from services.dedupe.judge import Article, Judge, Judged
from services.dedupe.lease import FENCE, Lease, LeaseLost, is_fenced
from services.dedupe.signature import Signer
from services.dedupe.textwork import (
    TextFeatures,
    decode_features,
    encode_features,
    text_features,
    url_key,
    without_recurring,
)
from shared.consumer import READ_BLOCK_MS, TRANSIENT, TRIM_EVERY_SECONDS
from shared.ids import id_time_ms
from shared.metrics import TEXT_WORK_CPU, VERDICT_LATENCY, VERDICTS
from shared.models import RawArticle, Verdict
from shared.redis import Lua, as_text, get_many, is_cluster
from shared.settings import Settings
from shared.streams import JUDGE_CONSUMER, JUDGE_GROUP, decode, keys_for, required_groups
from shared.trimming import AckedTrimmer

log = logging.getLogger("newsdedup.judge")

# KEYS: lease, then the raw streams; ARGV: lease value, group, consumer, count, then one id per
# stream (``>`` for new entries, or the pending entry to read after).
_READ = (
    FENCE
    + """
local args = {'GROUP', ARGV[2], ARGV[3], 'COUNT', ARGV[4], 'STREAMS'}
for i = 2, #KEYS do table.insert(args, KEYS[i]) end
for i = 5, #ARGV do table.insert(args, ARGV[i]) end
return redis.call('XREADGROUP', unpack(args))
"""
)
CLUSTER_IDLE_S = 0.01  # a cluster's judge polls its partitions this often when all are empty

Entry = tuple[str, str, Any]  # stream, message id, fields


def event_ms(article: RawArticle) -> int:
    """When the article's event happened, as far as we know: its publication time if given,
    else its ingest time. Stories close by this clock, so a backlog ingested late still groups
    by when it was news."""
    if article.published_at is not None:
        return int(article.published_at.timestamp() * 1000)
    return id_time_ms(article.id)


def article_of(raw: RawArticle) -> Article:
    return Article(raw.id, raw.source, url_key(raw.canonical_url), event_ms(raw))


def verdict_for(article: RawArticle, judged: Judged) -> Verdict:
    decision = judged.decision
    return Verdict(
        **article.model_dump(),
        status=decision.status,
        canonical_id=decision.canonical_id,
        similarity=decision.similarity,
        reason=decision.reason,
        measure=decision.measure,
        matched_id=decision.matched_id,
        story_id=judged.story_id,
        story_terms=judged.story_terms,
        decided_at=datetime.now(UTC),
    )


def _fields(fields: Any) -> Any:
    """A script's reply gives an entry's fields as a flat list; XREADGROUP's, as a dict."""
    return dict(zip(fields[::2], fields[1::2], strict=True)) if isinstance(fields, list) else fields


class JudgeRunner:
    def __init__(self, redis: aioredis.Redis, settings: Settings, signer: Signer) -> None:
        self.redis = redis
        self.settings = settings
        self.signer = signer
        self.keys = keys_for(settings)
        self.streams = settings.raw_streams
        self.cluster = is_cluster(redis)
        self.lease = Lease(redis, self.keys, settings.consumer_name, settings.judge_lease_ms)
        self.journal = Journal(redis, self.keys, settings)
        self._read = Lua(redis, _READ)
        self._trimmer = AckedTrimmer(redis)
        self._required = {s: sorted(required_groups(settings).get(s, ())) for s in self.streams}
        self._trimmed_at = 0.0
        self.state: JudgeState | None = None  # only while this process judges
        self._lease: str | None = None
        self._lost = False
        self._seen: dict[str, str] = {}  # the last entry read from each raw stream
        self._stopping = asyncio.Event()

    @property
    def judging(self) -> bool:
        return self.state is not None

    def has_judged(self, stream: str, message_id: str) -> bool:
        """Whether this process, as the judge, has judged the entry already."""
        state = self.state
        position = state.positions.get(stream) if state is not None else None
        return position is not None and stream_id(message_id) <= stream_id(position)

    def fresh(self) -> Judge:
        return Judge(self.settings, self.signer)

    async def run(self) -> None:
        """Take the lease whenever it is free and judge while holding it, until ``stop``."""
        while not self._stopping.is_set():
            try:
                lease = await self._take()
                if lease is None:
                    await self._pause(self.settings.judge_lease_ms / 3000)
                    continue
                await self._judge_while_held(lease)
            except LeaseLost as exc:
                log.warning("judge lease lost", extra={"reason": str(exc)})
                self._lease = None
            except TRANSIENT as exc:
                log.warning("judge interrupted; restoring", extra={"error": repr(exc)})
                await self._pause(1.0)
            except Exception:
                log.exception("judge failed; restoring")
                await self._pause(1.0)
            finally:
                self.state = None

    async def stop(self) -> None:
        """Finish the batch in hand, then let the lease go, so another replica takes over at
        once rather than after the lease time."""
        self._stopping.set()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _take(self) -> str | None:
        if self._lease is not None and await self.lease.renew(self._lease):
            return self._lease
        self._lease = await self.lease.acquire()
        return self._lease

    async def _judge_while_held(self, lease: str) -> None:
        self._lost = False
        renewing = asyncio.create_task(self._renew(lease))
        try:
            state = await self.journal.restore(lease, self.fresh)
            self._seen = await self._last_delivered()
            self.state = state
            log.info("judging", extra={"lease": lease})
            cursors = dict.fromkeys(self.streams, "0")
            last_claim = time.monotonic()
            while not self._stopping.is_set():
                if self._lost:
                    raise LeaseLost("not renewed in time")
                if time.monotonic() - last_claim > self.settings.judge_lease_ms / 3000:
                    # Entries a judge that lost its lease took on a cluster (reads there are
                    # not fenced) are this consumer's pending ones: read them again.
                    cursors = dict.fromkeys(self.streams, "0")
                    last_claim = time.monotonic()
                entries = await self._next(lease, cursors)
                if entries:
                    await self._judge_batch(lease, state, entries)
                if state.since_snapshot >= self.settings.judge_snapshot_every:
                    await self.journal.snapshot(lease, state)
        except ResponseError as exc:
            if is_fenced(exc):
                raise LeaseLost("fenced: another judge holds the lease") from exc
            raise
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            if self._stopping.is_set() and not self._lost:
                with contextlib.suppress(*TRANSIENT):
                    await self.lease.release(lease)
                self._lease = None

    async def _renew(self, lease: str) -> None:
        interval = self.settings.judge_lease_ms / 3000
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self.lease.renew(lease):
                    self._lost = True
                    return
            except TRANSIENT:
                continue  # the lease may still be ours; the next commit's fence tells

    async def _next(self, lease: str, cursors: dict[str, str]) -> list[Entry]:
        """The next entries: this consumer's pending ones first, then new ones."""
        count = self.settings.batch_size
        while True:
            reply: Any
            if self.cluster:
                replies = [
                    (s, await self.redis.xreadgroup(JUDGE_GROUP, JUDGE_CONSUMER, {s: cursors[s]},
                                                    count=count))
                    for s in self.streams
                ]  # fmt: skip
                reply = [r for _, found in replies for r in found]
            else:
                keys = [self.keys.judge_lease(), *self.streams]
                args: list[EncodableT] = [lease, JUDGE_GROUP, JUDGE_CONSUMER, count,
                                          *(cursors[s] for s in self.streams)]  # fmt: skip
                reply = await self._read(keys=keys, args=args) or []
            for stream, messages in reply:
                if messages:
                    name, last = as_text(stream), as_text(messages[-1][0])
                    if stream_id(last) > stream_id(self._seen.get(name, "0-0")):
                        self._seen[name] = last
            entries = [
                (as_text(stream), as_text(mid), _fields(fields))
                for stream, messages in reply
                for mid, fields in messages
                if fields is not None
            ]
            for stream, messages in reply:
                name = as_text(stream)
                if cursors[name] != ">":
                    cursors[name] = as_text(messages[-1][0]) if messages else ">"
            for name in self.streams:
                if cursors[name] != ">" and not any(as_text(s) == name for s, _ in reply):
                    cursors[name] = ">"
            if entries:
                return entries
            if any(c != ">" for c in cursors.values()):
                continue
            if self._stopping.is_set() or self._lost:
                return []
            await self._trim({})  # caught up with every stream
            await self._wait_for_new()
            return []

    async def _wait_for_new(self) -> None:
        """Block until a raw stream has entries after the last one read (or a while passed)."""
        if self.cluster:
            await asyncio.sleep(CLUSTER_IDLE_S)
            return
        block = min(READ_BLOCK_MS, self.settings.judge_lease_ms // 3)
        seen: dict[Any, Any] = dict(self._seen)
        await self.redis.xread(seen, block=block, count=1)

    async def _last_delivered(self) -> dict[str, str]:
        """Where the judge's group stands in each raw stream."""
        seen = {}
        for stream in self.streams:
            groups = await self.redis.xinfo_groups(stream)
            seen[stream] = next((as_text(g["last-delivered-id"]) for g in groups
                                 if as_text(g["name"]) == JUDGE_GROUP), "0-0")  # fmt: skip
        return seen

    async def _judge_batch(self, lease: str, state: JudgeState, entries: list[Entry]) -> None:
        acks: dict[str, list[str]] = {}
        fresh: list[tuple[str, str, RawArticle]] = []
        for stream, mid, fields in entries:
            acks.setdefault(stream, []).append(mid)
            if self.has_judged(stream, mid):
                continue  # committed before: only its ack was left
            try:
                fresh.append((stream, mid, decode(RawArticle, fields)))
            except (ValidationError, ValueError):
                continue  # the text work's group parks it on the dead stream
        fresh.sort(key=lambda e: (e[2].id, stream_id(e[1])))
        feature_keys = [self.keys.features(s, raw.id) for s, _, raw in fresh]
        found = await get_many(self.redis, feature_keys) if fresh else []
        judgements, outgoing, verdicts = [], [], []
        done = [decode_features(data) if data else None for data in found]
        todo = [n for n, f in enumerate(done) if f is None]
        started = time.process_time()
        for n in todo:
            done[n] = text_features(fresh[n][2], self.signer)
        if todo:
            TEXT_WORK_CPU.inc(time.process_time() - started)
        for (stream, mid, raw), features in zip(fresh, done, strict=True):
            assert features is not None
            article = article_of(raw)
            judged = state.judge.judge(article, features, self._refeature(raw, features))
            state.positions[stream] = mid
            judgements.append(Judgement(stream, mid, article,
                                        encode_features(judged.features)))  # fmt: skip
            verdict = verdict_for(raw, judged)
            verdicts.append(verdict)
            target = (self.settings.stream_canonical if judged.decision.is_canonical
                      else self.settings.stream_duplicates)  # fmt: skip
            outgoing.append(Outgoing(target, verdict.model_dump_json().encode()))
        for stream, ids in acks.items():  # entries read in stream order; all are done now
            if not self.has_judged(stream, ids[-1]):
                state.positions[stream] = ids[-1]
        state.journal_id = await self.journal.commit(
            lease, Batch(judgements, outgoing, acks, feature_keys)
        )
        state.since_snapshot += len(judgements)
        self._count(verdicts)
        await self._trim(acks)

    async def _trim(self, read: dict[str, list[str]]) -> None:
        """Like every consumer: a stream the judge has caught up with (a short read) at once,
        every stream every few seconds. The text work trims too; whichever acks last trims
        what both have read."""
        now = time.monotonic()
        every = now - self._trimmed_at >= TRIM_EVERY_SECONDS
        if every:
            self._trimmed_at = now
        for stream in self.streams:
            if every or len(read.get(stream, ())) < self.settings.batch_size:
                with contextlib.suppress(*TRANSIENT):
                    await self._trimmer.trim(stream, 0, required=self._required[stream])

    def _refeature(self, raw: RawArticle, features: TextFeatures) -> Any:
        return lambda recurring: without_recurring(raw, features, self.signer, recurring)

    @staticmethod
    def _count(verdicts: Sequence[Verdict]) -> None:
        now = time.time()
        for v in verdicts:
            VERDICTS.labels(v.status, v.reason or "").inc()
            VERDICT_LATENCY.observe(max(0.0, now - id_time_ms(v.id) / 1000))
