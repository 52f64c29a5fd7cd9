"""How far the pipeline has got, read from Redis: what dedupe's ``/health`` and ``/metrics``
and ``newsdedup status`` report.

Everything here is read from the streams and the judge's keys, never from a process's memory,
so every dedupe replica, and the command line, reports the same: the judge's lag (the age of
the oldest raw entry it has not committed), the entries waiting for it, who holds its lease,
how many times the lease has changed hands, and when the last verdict was published.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from shared.redis import as_text
from shared.settings import Settings
from shared.streams import JUDGE_GROUP, keys_for

# Counting the entries after a group's position when Redis cannot say (its ``lag`` is unknown
# after some deletions) stops here: the status then says "at least".
COUNT_CAP = 100_000


def stream_ms(entry_id: str | bytes) -> int:
    return int(as_text(entry_id).partition("-")[0])


@dataclass(frozen=True)
class GroupStatus:
    name: str
    pending: int  # delivered, not acked
    waiting: int  # not delivered yet (at least, where Redis could not count them)
    oldest_ms: int | None  # the oldest entry pending or waiting, by its stream id


@dataclass(frozen=True)
class StreamStatus:
    name: str
    length: int
    groups: list[GroupStatus]

    def group(self, name: str) -> GroupStatus | None:
        return next((g for g in self.groups if g.name == name), None)


@dataclass(frozen=True)
class JudgeStatus:
    holder: str | None  # the lease's holder (its consumer name), None when free
    lease_changes: int  # leases given so far: each is a new holder or the same one again
    waiting: int  # raw entries not yet committed by the judge (pending and undelivered)
    lag_s: float  # age of the oldest of them; 0 when there are none
    last_verdict_ms: int | None  # when the newest verdict still on its stream was published

    def as_dict(self) -> dict[str, Any]:
        return {
            "holder": self.holder,
            "lease_changes": self.lease_changes,
            "entries_waiting": self.waiting,
            "lag_seconds": round(self.lag_s, 3),
            "last_verdict_at": self.last_verdict_ms / 1000 if self.last_verdict_ms else None,
        }


async def stream_status(redis: aioredis.Redis, stream: str) -> StreamStatus:
    if not await redis.exists(stream):
        return StreamStatus(stream, 0, [])
    length = int(await redis.xlen(stream))
    groups = []
    for info in await redis.xinfo_groups(stream):
        groups.append(await _group_status(redis, stream, info))
    return StreamStatus(stream, length, sorted(groups, key=lambda g: g.name))


async def _group_status(redis: aioredis.Redis, stream: str, info: dict[Any, Any]) -> GroupStatus:
    name, pending = as_text(info["name"]), int(info["pending"])
    last = as_text(info["last-delivered-id"])
    lag = info.get("lag")
    after: Any = await redis.xrange(stream, f"({last}", "+", count=1)
    if lag is None:
        counted: Any = await redis.xrange(stream, f"({last}", "+", count=COUNT_CAP) if after else []
        lag = len(counted)
    oldest = None
    if pending:  # (acked since XINFO if XPENDING finds none)
        first = (await redis.xpending(stream, name))["min"]
        oldest = stream_ms(first) if first else None
    if oldest is None and after:
        oldest = stream_ms(after[0][0])
    return GroupStatus(name, pending, int(lag), oldest)


async def judge_status(
    redis: aioredis.Redis, settings: Settings, now_ms: int | None = None
) -> JudgeStatus:
    keys = keys_for(settings)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    waiting, oldest = 0, None
    for stream in settings.raw_streams:
        group = (await stream_status(redis, stream)).group(JUDGE_GROUP)
        if group is None:
            continue
        waiting += group.pending + group.waiting
        if group.oldest_ms is not None:
            oldest = group.oldest_ms if oldest is None else min(oldest, group.oldest_ms)
    lease = await redis.get(keys.judge_lease())
    token = await redis.get(keys.judge_token())
    last = None
    for stream in (settings.stream_canonical, settings.stream_duplicates):
        newest: Any = await redis.xrevrange(stream, count=1)
        if newest:
            last = max(last or 0, stream_ms(newest[0][0]))
    return JudgeStatus(
        holder=as_text(lease).split(":", 1)[1] if lease else None,
        lease_changes=int(token or 0),
        waiting=waiting,
        lag_s=max(0.0, (now_ms - oldest) / 1000) if oldest is not None else 0.0,
        last_verdict_ms=last,
    )


@dataclass(frozen=True)
class PipelineStatus:
    streams: list[StreamStatus]  # the raw partitions, the verdict streams, the dead stream
    judge: JudgeStatus

    def as_dict(self) -> dict[str, Any]:
        def groups(stream: StreamStatus) -> dict[str, Any]:
            return {g.name: {"pending": g.pending, "waiting": g.waiting} for g in stream.groups}

        return {
            "streams": {s.name: {"length": s.length, "groups": groups(s)} for s in self.streams},
            "judge": self.judge.as_dict(),
        }


async def pipeline_status(redis: aioredis.Redis, settings: Settings) -> PipelineStatus:
    names = [*settings.raw_streams, settings.stream_canonical, settings.stream_duplicates,
             settings.stream_dead]  # fmt: skip
    streams = [await stream_status(redis, name) for name in names]
    return PipelineStatus(streams, await judge_status(redis, settings))
