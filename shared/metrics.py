"""Prometheus metrics, and the ``GET /metrics`` route every service serves.

Counters and histograms live in the process and count what it did since it started. Stream
gauges (length, pending entries, lag per consumer group) and Redis's size are read from Redis
when scraped, so any replica reports the same shared state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from redis.asyncio.cluster import RedisCluster

from shared.progress import judge_status
from shared.redis import as_text, is_cluster
from shared.settings import Settings

ARTICLES_INGESTED = Counter("newsdedup_articles_ingested", "Articles accepted with 202")
VERDICTS = Counter("newsdedup_verdicts", "Verdicts published", ["status", "reason"])
VERDICT_LATENCY = Histogram(
    "newsdedup_verdict_latency_seconds",
    "From ingest (the article's id) to its verdict's commit",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
BATCH_SECONDS = Histogram(
    "newsdedup_batch_processing_seconds", "Time to process one batch of stream entries",
    ["service"],
)  # fmt: skip
BATCH_ENTRIES = Histogram(
    "newsdedup_batch_entries",
    "Stream entries handed to the handler in one batch",
    ["service"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
TEXT_WORK_CPU = Counter(
    "newsdedup_text_work_cpu_seconds",
    "CPU time of the per-article text work (features, term counts)",
)  # the same work per article however many replicas run: the machine's own speed, measured
DEAD_LETTERED = Counter("newsdedup_dead_lettered", "Entries this process moved to the dead stream")
STREAM_LENGTH = Gauge("newsdedup_stream_length", "Entries in the stream", ["stream"])
STREAM_PENDING = Gauge(
    "newsdedup_stream_pending", "Entries delivered to a group and not acked", ["stream", "group"]
)
STREAM_LAG = Gauge(
    "newsdedup_stream_lag", "Entries not yet delivered to a group (Redis 7+)", ["stream", "group"]
)
JUDGING = Gauge("newsdedup_judging", "1 while this process holds the judge's lease and judges")
JUDGE_LAG = Gauge(
    "newsdedup_judge_lag_seconds", "Age of the oldest raw entry the judge has not committed"
)
JUDGE_WAITING = Gauge(
    "newsdedup_judge_entries_waiting", "Raw entries the judge has not committed (all partitions)"
)
JUDGE_LEASE_CHANGES = Gauge(
    "newsdedup_judge_lease_changes", "Judge's leases given so far: each a takeover or a retake"
)
LAST_VERDICT = Gauge(
    "newsdedup_last_verdict_timestamp_seconds",
    "When the newest verdict on its stream was published",
)
JUDGE_INDEXED = Gauge(
    "newsdedup_judge_index_articles", "Canonical articles in the judge's index (in its memory)"
)
JUDGE_INDEX_BYTES = Gauge(
    "newsdedup_judge_index_bytes", "Bytes of the arrays the judge's index holds (in its memory)"
)
REDIS_MEMORY = Gauge(
    "newsdedup_redis_used_memory_bytes", "Memory of the Redis: streams, journal, snapshots"
)
REDIS_KEYS = Gauge("newsdedup_redis_keys", "Keys in the Redis database")


async def read_streams(redis: aioredis.Redis, streams: Sequence[str]) -> None:
    for stream in streams:
        if not await redis.exists(stream):
            continue
        STREAM_LENGTH.labels(stream).set(await redis.xlen(stream))
        groups: list[dict[Any, Any]] = await redis.xinfo_groups(stream)
        for group in groups:
            name = as_text(group["name"])
            STREAM_PENDING.labels(stream, name).set(int(group["pending"]))
            if group.get("lag") is not None:
                STREAM_LAG.labels(stream, name).set(int(group["lag"]))


async def read_redis_size(redis: aioredis.Redis) -> None:
    """One server's memory and keys; on a cluster, its masters' together."""
    if is_cluster(redis):
        masters = RedisCluster.PRIMARIES
        memory = await redis.info("memory", target_nodes=masters)
        keys = await redis.dbsize(target_nodes=masters)  # summed
        REDIS_MEMORY.set(sum(int(info["used_memory"]) for info in memory.values()))
        REDIS_KEYS.set(int(keys))
        return
    REDIS_MEMORY.set(int((await redis.info("memory"))["used_memory"]))
    REDIS_KEYS.set(int(await redis.dbsize()))


async def read_judge(redis: aioredis.Redis, settings: Settings) -> None:
    status = await judge_status(redis, settings)
    JUDGE_LAG.set(status.lag_s)
    JUDGE_WAITING.set(status.waiting)
    JUDGE_LEASE_CHANGES.set(status.lease_changes)
    if status.last_verdict_ms is not None:
        LAST_VERDICT.set(status.last_verdict_ms / 1000)


def metrics_router(
    streams: Sequence[str], redis_size: bool = False, judge: Settings | None = None
) -> APIRouter:
    """``streams``: the streams whose gauges this service reports; ``redis_size``: Redis's;
    ``judge``: the judge's progress, under these settings."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        redis = getattr(request.app.state, "redis", None)
        if redis is not None:
            await read_streams(redis, streams)
            if redis_size:
                await read_redis_size(redis)
            if judge is not None:
                await read_judge(redis, judge)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
