"""Scale: the judge's memory per indexed article, its time per article, and how long a new
judge takes to restore its state, as the index grows.

The judge is filled with synthetic canonical articles (random signatures: every band key of
every article is a new one, the worst case for memory; a URL each; 440 random word hashes, the
corpus's median article), through the judge itself.
They have no terms: each opens a story of its own and none is a story candidate of another, so
the figures are the dedupe index's (with each article's story record); story placement at scale
is measured by the accuracy corpus, not here. Memory is the growth of the process's resident
set while filling, and the snapshot's size. The snapshot is written to and restored from a real
Redis, through the journal's own code, as a judge taking over does.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.dedupe.app import signer_for
from services.dedupe.journal import Journal, JudgeState
from services.dedupe.judge import Article, Judge
from services.dedupe.lease import Lease
from services.dedupe.textwork import TextFeatures
from shared.ids import id_at
from shared.redis import EmbeddedRedis, async_client
from shared.settings import Settings
from shared.streams import keys_for

QUERIES = 2_000
WORDS = 440  # a median article of the news corpus: its 16-bit word hashes


@dataclass(frozen=True)
class ScalePoint:
    indexed: int
    bytes_per_article: float  # resident memory the judge grew by, per indexed article
    snapshot_bytes_per_article: float
    judge_us: list[float]  # median time to judge one more article, per run
    snapshot_s: float  # to write the snapshot
    restore_s: float  # for a new judge to load it


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
            (), (), (), (),
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


async def _snapshot_and_restore(
    state: JudgeState, settings: Settings, redis_url: str
) -> tuple[int, float, float]:
    redis = async_client(redis_url)
    try:
        keys = keys_for(settings)
        lease = await Lease(redis, keys, "scale", 60_000).acquire()
        assert lease is not None
        journal = Journal(redis, keys, settings)
        started = time.perf_counter()
        size = await journal.snapshot(lease, state)
        written = time.perf_counter() - started
        started = time.perf_counter()
        restored = await journal.restore(lease, lambda: Judge(settings, signer_for(settings)))
        loaded = time.perf_counter() - started
        assert len(restored.judge.index) == len(state.judge.index)
        return size, written, loaded
    finally:
        await redis.aclose()


def measure_scale(
    sizes: list[int], settings: Settings, data_dir: Path, runs: int, seed: int
) -> list[ScalePoint]:
    points = []
    for size in sizes:
        synthetic = Synthetic(settings, seed)
        before = _resident_bytes()
        judge = Judge(settings, signer_for(settings))
        for _ in range(size):
            judge.judge(*synthetic.next())
        grown = _resident_bytes() - before
        times = [judge_time_us(judge, synthetic) for _ in range(runs)]
        state = JudgeState(judge)
        with EmbeddedRedis(data_dir / f"scale-{size}", appendonly=False) as server:
            snapshot, written, loaded = asyncio.run(
                _snapshot_and_restore(state, settings, server.url)
            )
        points.append(ScalePoint(size, grown / size, snapshot / size, times, written, loaded))
        del judge, state
    return points
