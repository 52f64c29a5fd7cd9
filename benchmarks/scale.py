"""Scale: the judge's memory per indexed article, its time per article, and how long a new
judge takes over, as the index grows.

The judge is filled with synthetic canonical articles (random signatures: every band key of
every article is a new one, the worst case for memory; a URL each; 440 random word hashes, the
corpus's median article), through the judge itself.
They have no terms: each opens a story of its own and none is a story candidate of another, so
the figures are the dedupe index's (with each article's story record); story placement at scale
is measured by the accuracy corpus, not here. Memory is the growth of the process's resident
set while filling, and the snapshot's size.

A takeover is measured as it happens in the service: the snapshot is written to a real Redis
through the journal's own code, followed by as much journal as the judge folds in
``judge_replay_seconds`` (the most a judge leaves unsnapshotted); then a new judge, its fold in
a process of its own, takes the free lease, restores and judges one new article. The figure is
the time from the lease taken to that verdict on its stream.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from services.dedupe.judge.config import JudgeConfig
from services.dedupe.judge.fold import Judgement, JudgeState
from services.dedupe.judge.judge import Article, Judge
from services.dedupe.service.commit import Batch, ServerCommit
from services.dedupe.service.fold_process import FoldProcess
from services.dedupe.service.journal import Journal
from services.dedupe.service.lease import Lease
from services.dedupe.service.runner import JudgeRunner
from services.dedupe.service.snapshots import Snapshot, write_snapshot
from services.dedupe.text.features import TextFeatures, encode_features
from shared.embedded import EmbeddedRedis
from shared.groups import declare_groups
from shared.ids import id_at, new_id
from shared.models import RawArticle
from shared.redis import async_client
from shared.settings import Settings
from shared.streams import encode, keys_for

QUERIES = 2_000
WORDS = 440  # a median article of the news corpus: its 16-bit word hashes


@dataclass(frozen=True)
class ScalePoint:
    indexed: int
    bytes_per_article: float  # resident memory the judge grew by, per indexed article
    snapshot_bytes_per_article: float
    judge_us: list[float]  # median time to judge one more article, per run
    snapshot_s: float  # to write the snapshot
    takeover_s: float  # from the lease taken to the first verdict of a new judge
    replayed: int  # journal articles it folded after the snapshot


def _resident_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


class Synthetic:
    """Canonical articles with random features, a millisecond apart."""

    def __init__(self, settings: Settings, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.num_perm = settings.num_perm
        self.start = int(time.time() * 1000) - 86_400_000
        self.made = 0

    def next(self) -> tuple[Article, TextFeatures]:
        n = self.made
        self.made += 1
        features = TextFeatures(
            self.rng.bytes(8),
            self.rng.integers(0, 2**32, size=self.num_perm, dtype=np.uint32),
            self.rng.integers(0, 2**16, size=WORDS, dtype=np.uint16),
            (), (), (), (), (),
        )  # fmt: skip
        article_id = id_at(self.start + n // 10, n)
        article = Article(article_id, "synthetic", self.rng.bytes(16), self.start + n // 10)
        return article, features


def judge_time_us(judge: Judge, synthetic: Synthetic) -> float:
    times = []
    for _ in range(QUERIES):
        article, features = synthetic.next()
        started = time.perf_counter()
        judge.judge(article, features)
        times.append((time.perf_counter() - started) * 1e6)
    return statistics.median(times)


async def _takeover(
    judge: Judge, synthetic: Synthetic, settings: Settings, redis_url: str
) -> tuple[int, float, float, int]:
    """Snapshot ``judge``, journal what it judges in ``judge_replay_seconds`` more, and let a
    new judge take over: the snapshot's size, the seconds to write it, from lease to first
    verdict, and the articles replayed."""
    settings = settings.model_copy(update={"redis_url": redis_url, "judge_lease_ms": 5_000})
    redis = async_client(redis_url)
    fold = FoldProcess(settings)
    try:
        keys = keys_for(settings)
        await declare_groups(redis, settings, [*settings.raw_streams, settings.stream_canonical])
        lease = await Lease(redis, keys, "old judge", 60_000).acquire()
        assert lease is not None
        commit = ServerCommit(redis, keys, settings)
        journal = Journal(redis, keys, commit)
        started = time.perf_counter()
        target = Snapshot(lease, "0-0")
        data = pickle.dumps(JudgeState(judge), protocol=pickle.HIGHEST_PROTOCOL)
        parts = write_snapshot(settings, target, data)
        await journal.switch(lease, target, parts)
        written = time.perf_counter() - started
        size = len(data)
        replayed = 0
        folding = time.perf_counter()
        while time.perf_counter() - folding < settings.judge_replay_seconds:
            judgements = []
            for _ in range(settings.batch_size):
                article, features = synthetic.next()
                judged = judge.judge(article, features)
                judgements.append(Judgement("raw", f"{replayed}-0", article,
                                            encode_features(judged.features)))  # fmt: skip
                replayed += 1
            await commit.commit(lease, Batch(pickle.dumps(judgements), [], {}, []))
        await redis.delete(keys.judge_lease())  # the old judge is gone: its lease expired
        await fold.start()  # as the service starts it, before it may take the lease
        one_more = RawArticle(
            id=new_id(),
            ingested_at=datetime.now(UTC),
            content_sha256="-",
            text="One more article, judged once the new judge has restored.",
        )
        await redis.xadd(settings.stream_raw, encode(one_more))
        runner = JudgeRunner.on(redis, settings, fold)
        started = time.perf_counter()
        judging = asyncio.create_task(runner.run())
        while not await redis.xlen(settings.stream_canonical):
            assert not judging.done(), judging
            await asyncio.sleep(0.01)
        taken_over = time.perf_counter() - started
        await runner.stop()
        await judging
        return size, written, taken_over, replayed
    finally:
        await fold.close()
        await redis.aclose()


def measure_scale(
    sizes: list[int], settings: Settings, data_dir: Path, runs: int, seed: int
) -> list[ScalePoint]:
    points = []
    for size in sizes:
        synthetic = Synthetic(settings, seed)
        before = _resident_bytes()
        judge = Judge(JudgeConfig.from_settings(settings))
        for _ in range(size):
            judge.judge(*synthetic.next())
        grown = _resident_bytes() - before
        times = [judge_time_us(judge, synthetic) for _ in range(runs)]
        with EmbeddedRedis(data_dir / f"scale-{size}", appendonly=False) as server:
            snapshot, written, taken_over, replayed = asyncio.run(
                _takeover(judge, synthetic, settings, server.url)
            )
        points.append(
            ScalePoint(size, grown / size, snapshot / size, times, written, taken_over, replayed)
        )
        del judge
    return points
