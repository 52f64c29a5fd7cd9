"""Scale: LSH query time and Redis memory per indexed article as the index grows.

The index is filled with synthetic signatures (random hash values: every band bucket of every
article is a new one, the worst case for memory), as the dedupe service files canonical
articles: an entry and its band buckets. Queries are what judging an article does: its bucket
look-up and the candidates' entries, half of them for articles whose near copy is indexed.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import redis.asyncio as aioredis
from services.dedupe.buckets import Placed

from services.dedupe.app import index_for
from services.dedupe.decide import Entry, State
from services.dedupe.index import RedisIndex, encode_entry
from shared.ids import id_time_ms, new_id
from shared.redis import EmbeddedRedis, async_client
from shared.settings import Settings

FILL_BATCH = 2_000
QUERIES = 200


# Redis keeps a sorted set of up to 128 members in its compact encoding (about 30 bytes a
# member, against 80 in a skip list): the index is sized so that its bucket sets stay there.
MEMBERS_PER_SET = 96


def shards_for(indexed: int, bands: int) -> int:
    """The ``NEWSDEDUP_INDEX_SHARDS`` that keeps bucket sets compact for an index this big."""
    return max(1024, -(-indexed * bands // MEMBERS_PER_SET))


@dataclass(frozen=True)
class ScalePoint:
    indexed: int
    shards: int
    bytes_per_article: float
    query_ms: list[float]  # median query time of each run


async def _used_memory(redis: aioredis.Redis) -> int:
    info = await redis.info("memory")
    return int(info["used_memory"])


async def fill(index: RedisIndex, count: int, rng: np.random.Generator) -> list[Entry]:
    """File ``count`` canonical articles with random signatures, with the writes the dedupe
    service makes (entry, bucket script); return a sample of them."""
    num_perm, seed = index.signer.params.num_perm, index.signer.params.seed
    now = int(time.time() * 1000)
    generation = index.window.filed(now, now)
    expiry = index.window.entry_expiry_ms(now, now)
    sample: list[Entry] = []
    for start in range(0, count, FILL_BATCH):
        signatures = rng.integers(0, 2**32, size=(min(FILL_BATCH, count - start), num_perm),
                                  dtype=np.uint32)  # fmt: skip
        async with index.redis.pipeline(transaction=False) as pipe:
            placed = []
            for signature in signatures:
                entry = Entry(new_id(), State.CANONICAL, rng.bytes(8), 400, signature)
                pipe.set(index.keys.entry(entry.article_id), encode_entry(entry, seed), pxat=expiry)
                buckets = index.signer.band_keys(signature)
                placed.append(Placed(entry.article_id, buckets, generation))
                if len(sample) < QUERIES and rng.random() < QUERIES / count:
                    sample.append(entry)
            await index.buckets.queue_add(pipe, placed)
            await pipe.execute()
    return sample


def _near_copy(entry: Entry, rng: np.random.Generator) -> np.ndarray:
    """A signature sharing about 80% of the entry's hash values."""
    signature = entry.signature.copy()
    changed = rng.random(len(signature)) < 0.2
    signature[changed] = rng.integers(0, 2**32, size=int(changed.sum()), dtype=np.uint32)
    return signature


async def query_time_ms(index: RedisIndex, sample: list[Entry], rng: np.random.Generator) -> float:
    """Median time of one article's candidate look-up (buckets, then entries)."""
    times = []
    for n in range(QUERIES):
        if n % 2 and sample:
            signature = _near_copy(sample[n % len(sample)], rng)
        else:
            signature = rng.integers(0, 2**32, size=index.signer.params.num_perm, dtype=np.uint32)
        article_id = new_id()
        buckets = index.signer.band_keys(signature)
        now = int(time.time() * 1000)
        started = time.perf_counter()
        await index.candidates(article_id, buckets, now, id_time_ms(article_id))
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def measure_scale(
    sizes: list[int], settings: Settings, data_dir: Path, runs: int, seed: int
) -> list[ScalePoint]:
    """Each size on a fresh Redis (no persistence: memory is what is measured)."""
    points = []
    for size in sizes:
        server = EmbeddedRedis(data_dir / f"scale-{size}", appendonly=False).start()
        redis = async_client(server.url)
        try:
            rng = np.random.default_rng(seed)
            bands = index_for(redis, settings).signer.bands
            shards = shards_for(size, bands)
            index = index_for(redis, settings.model_copy(update={"index_shards": shards}))
            before = await _used_memory(redis)
            sample = await fill(index, size, rng)
            used = await _used_memory(redis) - before
            times = [await query_time_ms(index, sample, rng) for _ in range(runs)]
            points.append(ScalePoint(size, shards, used / size, times))
        finally:
            await redis.aclose()
            server.stop()
    return points
