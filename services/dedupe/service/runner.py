"""The judge at work: whichever dedupe process holds the lease reads the raw streams in order,
judges each article and commits each batch through the journal.

It reads through its own consumer group (``reader``) and commits through ``commit``, each as one
Redis server or a cluster does it. Text features come from the replicas' text work
(``text_consumer``); an article whose features are not there yet is worked on by the fold, so
the judge never waits for a replica.

The fold (judging, restoring, snapshots) runs in a process of its own (``fold_process``): this
loop only reads, writes and waits, so it renews the lease every third of its time whatever the
judge is computing, and a new judge keeps its lease through a restore. Any error in a commit, a
read or the fold leaves the state possibly ahead of what was committed: the judge then restores
it again from the journal.

It starts a snapshot once the journal since the last one started took ``judge_replay_seconds``
to fold (about what replaying it takes a new judge) or holds half of ``judge_snapshot_every``
articles; the fold's forked copy writes it while the judge goes on, and the judge switches to it
once written. A takeover replays the journal after the last snapshot written: never more than
``judge_snapshot_every`` articles, as the judge waits for a write in progress rather than let
the journal grow past that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from services.dedupe.service.commit import Batch, Commit, commit_for
from services.dedupe.service.fold_process import FoldClient
from services.dedupe.service.journal import Journal
from services.dedupe.service.lease import Lease, LeaseLost, is_fenced
from services.dedupe.service.reader import JudgeReader, RawEntry, reader_for
from services.dedupe.service.snapshots import Snapshot
from shared.ids import id_time_ms
from shared.metrics import (
    JUDGE_INDEX_BYTES,
    JUDGE_INDEXED,
    JUDGING,
    TEXT_WORK_CPU,
    VERDICT_LATENCY,
    VERDICTS,
)
from shared.redis import TRANSIENT, get_many
from shared.settings import Settings
from shared.streams import (
    keys_for,
    payload_of,
)
from shared.trimming import StreamTrimming

log = logging.getLogger("newsdedup.judge")

SNAPSHOT_POLL_S = 0.05  # how often a judge waiting for a snapshot's write asks again


@dataclass
class Progress:
    """Where this judge stands since it restored: what its next snapshot is due by."""

    journal_id: str = "0-0"
    since_started: int = 0  # articles since the last snapshot started
    folded_s: float = 0.0  # time spent folding them
    since_written: int = 0  # articles since the last snapshot written (what a takeover replays)
    writing: Snapshot | None = None  # the snapshot being written
    writing_since: float = 0.0
    writing_from: int = 0  # ``since_written`` when it started


class JudgeRunner:
    def __init__(
        self,
        redis: aioredis.Redis,
        settings: Settings,
        fold: FoldClient,
        commit: Commit,
        reader: JudgeReader,
    ) -> None:
        self.redis = redis
        self.settings = settings
        self.fold = fold
        self.keys = keys_for(settings)
        self.streams = settings.raw_streams
        self.leases = Lease(redis, self.keys, settings.consumer_name, settings.judge_lease_ms)
        self.commit = commit
        self.reader = reader
        self.journal = Journal(redis, self.keys, commit)
        self._trimming = {s: StreamTrimming(redis, settings, s) for s in self.streams}
        self.progress: Progress | None = None  # only while this process judges
        self._held: str | None = None
        self._lost = False
        self._stopping = asyncio.Event()

    @classmethod
    def on(cls, redis: aioredis.Redis, settings: Settings, fold: FoldClient) -> JudgeRunner:
        """A judge on the deployment's Redis: its commit and reads as one server or a cluster
        does them, chosen here once."""
        keys = keys_for(settings)
        return cls(redis, settings, fold, commit_for(redis, keys, settings),
                   reader_for(redis, keys, settings))  # fmt: skip

    @property
    def judging(self) -> bool:
        """Whether this process holds the lease and has restored the state."""
        return self.progress is not None

    async def run(self) -> None:
        """Take the lease whenever it is free and judge while holding it, until ``stop``."""
        while not self._stopping.is_set():
            try:
                lease = await self._take()
                if lease is None:  # a tenth of the lease: a dead judge's is taken soon after
                    await self._pause(self.settings.judge_lease_ms / 10_000)
                    continue
                await self._judge_while_held(lease)
            except LeaseLost as exc:
                log.warning("judge lease lost", extra={"reason": str(exc)})
                self._held = None
            except TRANSIENT as exc:
                log.warning("judge interrupted; restoring", extra={"error": repr(exc)})
                await self._pause(1.0)
            except Exception:
                log.exception("judge failed; restoring")
                await self._pause(1.0)
            finally:
                self.progress = None
                JUDGING.set(0)

    async def stop(self) -> None:
        """Finish the batch in hand, then let the lease go, so another replica takes over at
        once rather than after the lease time."""
        self._stopping.set()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _take(self) -> str | None:
        if self._held is not None and await self.leases.renew(self._held):
            return self._held
        self._held = await self.leases.acquire()
        return self._held

    async def _judge_while_held(self, lease: str) -> None:
        self._lost = False
        renewing = asyncio.create_task(self._renew(lease))
        try:
            await self.fold.start()
            restored = await self.journal.restore(lease, self.fold)
            await self.reader.start()
            progress = self.progress = Progress(
                restored.journal_id, since_started=restored.replayed,
                since_written=restored.replayed,
            )  # fmt: skip
            JUDGING.set(1)
            log.info("judging", extra={"lease": lease})
            last_claim = time.monotonic()
            while not self._stopping.is_set():
                if self._lost:
                    raise LeaseLost("not renewed in time")
                if time.monotonic() - last_claim > self.settings.judge_lease_ms / 3000:
                    # Entries a judge that lost its lease took on a cluster (reads there are
                    # not fenced) are this consumer's pending ones: read them again.
                    self.reader.rewind()
                    last_claim = time.monotonic()
                await self._snapshots(lease, progress)
                entries = await self.reader.next(lease)
                if entries:
                    await self._judge_batch(lease, progress, entries)
                elif not (self._stopping.is_set() or self._lost):
                    await self._trim({})  # caught up with every stream
                    await self.reader.wait_for_new()
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
                    await self.leases.release(lease)
                self._held = None

    async def _snapshots(self, lease: str, progress: Progress) -> None:
        """Switch to a snapshot once written; start one when due; wait for the one being
        written rather than let the journal a takeover replays outgrow its bound."""
        s = self.settings
        while progress.writing is not None:
            parts = await self.fold.snapshot_written()
            if parts is not None:
                await self.journal.switch(lease, progress.writing, parts)
                log.info("judge snapshot written", extra={
                    "journal": progress.writing.journal_id, "parts": parts,
                    "seconds": round(time.monotonic() - progress.writing_since, 3)})  # fmt: skip
                progress.since_written -= progress.writing_from
                progress.writing = None
            elif (
                progress.since_written < s.judge_snapshot_every
                or self._lost
                or self._stopping.is_set()
            ):
                return
            else:
                await self._pause(SNAPSHOT_POLL_S)
        due = progress.folded_s >= s.judge_replay_seconds or (
            progress.since_started >= s.judge_snapshot_every // 2
        )
        if progress.since_started and due:
            target = Snapshot(lease, progress.journal_id)
            await self.fold.snapshot(target)
            progress.writing, progress.writing_since = target, time.monotonic()
            progress.writing_from = progress.since_written
            progress.since_started, progress.folded_s = 0, 0.0

    async def _renew(self, lease: str) -> None:
        interval = self.settings.judge_lease_ms / 3000
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self.leases.renew(lease):
                    self._lost = True
                    return
            except TRANSIENT:
                continue  # the lease may still be ours; the next commit's fence tells

    async def _judge_batch(self, lease: str, progress: Progress, entries: list[RawEntry]) -> None:
        acks: dict[str, list[str]] = {}
        read = []
        for stream, mid, fields in entries:
            acks.setdefault(stream, []).append(mid)
            try:
                read.append((stream, mid, payload_of(fields)))
            except ValueError:
                continue  # the text work's group parks it on the dead stream
        started = time.monotonic()
        fresh = await self.fold.prepare(read)
        folded_s = time.monotonic() - started
        feature_keys = [self.keys.features(f.stream, f.article_id) for f in fresh]
        found = await get_many(self.redis, feature_keys) if fresh else []
        started = time.monotonic()
        folded = await self.fold.judge(found)
        progress.folded_s += folded_s + time.monotonic() - started
        JUDGE_INDEXED.set(folded.indexed)
        JUDGE_INDEX_BYTES.set(folded.index_bytes)
        if folded.text_cpu_s:
            TEXT_WORK_CPU.inc(folded.text_cpu_s)
        progress.journal_id = await self.commit.commit(
            lease, Batch(folded.journal, folded.outgoing, acks, feature_keys)
        )
        progress.since_started += len(fresh)
        progress.since_written += len(fresh)
        self._count(folded.counted)
        await self._trim(acks)

    async def _trim(self, read: dict[str, list[str]]) -> None:
        """Like every reader: a stream the judge has caught up with (a short read) at once, every
        stream every few seconds."""
        for stream, trimming in self._trimming.items():
            await trimming.after_read(len(read.get(stream, ())) < self.settings.batch_size)

    @staticmethod
    def _count(counted: Sequence[tuple[str, str, str]]) -> None:
        now = time.time()
        for article_id, status, reason in counted:
            VERDICTS.labels(status, reason).inc()
            VERDICT_LATENCY.observe(max(0.0, now - id_time_ms(article_id) / 1000))
