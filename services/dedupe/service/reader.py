"""The judge's reads of the raw streams, through its own consumer group (``judge``) as one fixed
consumer, so the group's pending entries are exactly what a judge took and did not commit: a
new judge reads those first, then new entries, and each stream's entries in order.

On one Redis server its reads are fenced (a script that checks the lease, then XREADGROUP), so a
judge that lost its lease cannot take entries away from the next, and it waits for new entries
with a blocking XREAD. On a cluster one command cannot span the streams' slots: it reads each
stream on its own, unfenced (the entries a judge that lost its lease took stay pending, and the
next judge reads them again: ``rewind``), and polls when all are empty. The deployment's Redis
picks one, once, in the service's wiring (``reader_for``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from redis.typing import EncodableT

from services.dedupe.service.lease import FENCE
from shared.consumer import READ_BLOCK_MS
from shared.lua import Lua
from shared.redis import as_text
from shared.settings import Settings
from shared.streams import JUDGE_CONSUMER, JUDGE_GROUP, Keys, stream_id

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

RawEntry = tuple[str, str, Any]  # stream, message id, fields
Reply = list[tuple[Any, list[tuple[Any, Any]]]]  # XREADGROUP's: per stream, its entries


def _fields(fields: Any) -> Any:
    """A script's reply gives an entry's fields as a flat list; XREADGROUP's, as a dict."""
    return dict(zip(fields[::2], fields[1::2], strict=True)) if isinstance(fields, list) else fields


class JudgeReader:
    def __init__(self, redis: aioredis.Redis, keys: Keys, settings: Settings) -> None:
        self.redis = redis
        self.keys = keys
        self.settings = settings
        self.streams = settings.raw_streams
        self.cursors = dict.fromkeys(self.streams, "0")
        self.seen: dict[str, str] = {}  # the last entry read from each raw stream

    async def start(self) -> None:
        """Read from the start of this consumer's pending entries; wait for what comes after
        the group's last delivered entry."""
        self.rewind()
        self.seen = {}
        for stream in self.streams:
            groups = await self.redis.xinfo_groups(stream)
            self.seen[stream] = next((as_text(g["last-delivered-id"]) for g in groups
                                      if as_text(g["name"]) == JUDGE_GROUP), "0-0")  # fmt: skip

    def rewind(self) -> None:
        """Read this consumer's pending entries again before new ones."""
        self.cursors = dict.fromkeys(self.streams, "0")

    async def next(self, lease: str) -> list[RawEntry]:
        """The next entries: pending ones first, then new ones; none once every stream is read
        to its end."""
        while True:
            reply = await self._read(lease, self.settings.batch_size)
            for stream, messages in reply:
                if messages:
                    name, last = as_text(stream), as_text(messages[-1][0])
                    if stream_id(last) > stream_id(self.seen.get(name, "0-0")):
                        self.seen[name] = last
            entries = [
                (as_text(stream), as_text(mid), _fields(fields))
                for stream, messages in reply
                for mid, fields in messages
                if fields is not None
            ]
            # A stream read to the end of its pending entries goes on with new ones.
            answered = {as_text(stream): messages for stream, messages in reply}
            for name, cursor in self.cursors.items():
                if cursor != ">":
                    pending = answered.get(name)
                    self.cursors[name] = as_text(pending[-1][0]) if pending else ">"
            if entries:
                return entries
            if all(c == ">" for c in self.cursors.values()):
                return []

    async def _read(self, lease: str, count: int) -> Reply:
        raise NotImplementedError

    async def wait_for_new(self) -> None:
        """Until a raw stream has entries after the last one read (or a while passed)."""
        raise NotImplementedError


class ServerReader(JudgeReader):
    """Fenced reads of every stream at once; a blocking wait for new entries."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, settings: Settings) -> None:
        super().__init__(redis, keys, settings)
        self._script = Lua(redis, _READ)

    async def _read(self, lease: str, count: int) -> Reply:
        keys = [self.keys.judge_lease(), *self.streams]
        args: list[EncodableT] = [lease, JUDGE_GROUP, JUDGE_CONSUMER, count,
                                  *(self.cursors[s] for s in self.streams)]  # fmt: skip
        reply: Reply = await self._script(keys=keys, args=args) or []
        return reply

    async def wait_for_new(self) -> None:
        block = min(READ_BLOCK_MS, self.settings.judge_lease_ms // 3)
        seen: dict[Any, Any] = dict(self.seen)
        await self.redis.xread(seen, block=block, count=1)


class ClusterReader(JudgeReader):
    """Each stream read on its own; polls while all are empty."""

    async def _read(self, lease: str, count: int) -> Reply:
        reply: Reply = []
        for stream in self.streams:
            found: Reply = await self.redis.xreadgroup(  # type: ignore[assignment]
                JUDGE_GROUP, JUDGE_CONSUMER, {stream: self.cursors[stream]}, count=count
            )
            reply += found
        return reply

    async def wait_for_new(self) -> None:
        await asyncio.sleep(CLUSTER_IDLE_S)


def reader_for(redis: aioredis.Redis, keys: Keys, settings: Settings) -> JudgeReader:
    return (ClusterReader if settings.cluster else ServerReader)(redis, keys, settings)
