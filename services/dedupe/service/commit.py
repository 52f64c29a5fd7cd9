"""The judge's fenced commit of a batch: on one Redis server, or on a Redis Cluster. The
deployment's Redis picks one implementation, once, in the service's wiring (``commit_for``).

On one server a batch is committed by one script that checks the judge's lease
(``lease.FENCE``), appends the batch to the journal (each article's stream position, what the
judge knew of it and its text features as judged, pickled by the fold), puts the verdicts on
their streams, acks the raw entries in the judge's group and deletes their feature records: all
of it or none.

On a cluster a script touches one slot: the fenced script writes the journal entry, which also
holds the batch's verdicts (an outbox); then the verdicts go to their streams, the raw entries
are acked, and a fenced write marks the entry published. A judge restoring publishes again the
verdicts of the entries after that mark (the store keeps one row per article whatever it is
sent).
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.typing import EncodableT, KeyT

from services.dedupe.judge.fold import Outgoing
from services.dedupe.service.lease import FENCE
from shared.lua import Lua
from shared.redis import as_text
from shared.replication import Replication
from shared.settings import Settings
from shared.streams import DATA_FIELD, JUDGE_GROUP, Keys, stream_id

# KEYS: lease, journal, canonical stream, duplicates stream, the raw streams, feature records.
# ARGV: lease value, journal entry, the judge's group, number of raw streams, the verdicts
# (count, then stream number 1 or 2 and payload for each), then per raw stream: count and ids.
_COMMIT = (
    FENCE
    + """
local at = 2
local entry = redis.call('XADD', KEYS[2], '*', 'b', ARGV[at])
local group, raws = ARGV[at + 1], tonumber(ARGV[at + 2])
at = at + 3
local verdicts = tonumber(ARGV[at])
at = at + 1
for i = 1, verdicts do
  redis.call('XADD', KEYS[2 + tonumber(ARGV[at])], '*', '__data__', ARGV[at + 1])
  at = at + 2
end
for r = 1, raws do
  local n = tonumber(ARGV[at])
  if n > 0 then redis.call('XACK', KEYS[4 + r], group, unpack(ARGV, at + 1, at + n)) end
  at = at + 1 + n
end
if #KEYS > 4 + raws then redis.call('DEL', unpack(KEYS, 5 + raws, #KEYS)) end
return entry
"""
)

# On a cluster: KEYS: lease, journal; ARGV: lease value, journal entry, its verdicts.
_JOURNAL = FENCE + "return redis.call('XADD', KEYS[2], '*', 'b', ARGV[2], 'o', ARGV[3])"

# KEYS: lease, published mark; ARGV: lease value, journal entry id.
_PUBLISHED = FENCE + "return redis.call('SET', KEYS[2], ARGV[2])"


@dataclass(frozen=True)
class Batch:
    """A judged batch, as a commit writes it."""

    journal: bytes  # the journal entry: the batch's judgements, as the fold pickled them
    outgoing: Sequence[Outgoing]  # their verdicts
    acks: dict[str, list[str]]  # every entry read, by raw stream, judged or not
    feature_keys: Sequence[str]  # the text workers' records used up


class Commit(Protocol):
    async def commit(self, lease: str, batch: Batch) -> str:
        """Make a judged batch durable and published; the journal entry's id. Raises a
        ``ResponseError`` saying FENCED when the lease is no longer ``lease``."""

    async def start_replay(self) -> None:
        """A judge restores: the journal is about to be read from its snapshot on."""

    async def replayed(self, lease: str, entry_id: str, fields: dict[bytes, bytes]) -> None:
        """A journal entry is folded in again: whatever its commit left undone is done."""


class ServerCommit:
    """A batch in one script: nothing is left undone by a crash."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, settings: Settings) -> None:
        self.redis = redis
        self.keys = keys
        self.settings = settings
        self.replication = Replication(settings.wait_replicas, settings.wait_timeout_ms)
        self._commit = Lua(redis, _COMMIT)

    async def commit(self, lease: str, batch: Batch) -> str:
        outgoing, acks = batch.outgoing, batch.acks
        s = self.settings
        streams = list(acks)
        keys: list[KeyT] = [
            self.keys.judge_lease(), self.keys.journal(), s.stream_canonical,
            s.stream_duplicates, *streams, *batch.feature_keys,
        ]  # fmt: skip
        args: list[EncodableT] = [lease, batch.journal, JUDGE_GROUP, len(streams),
                                  len(outgoing)]  # fmt: skip
        for message in outgoing:
            args += [1 if message.stream == s.stream_canonical else 2, message.payload]
        for stream in streams:
            args += [len(acks[stream]), *acks[stream]]
        async with self.redis.pipeline(transaction=False) as pipe:
            await self._commit(keys=keys, args=args, client=pipe)
            waits = self.replication.queue_wait(self.redis, pipe, [self.keys.journal()])
            entry, *confirmations = await pipe.execute()
        self.replication.check(confirmations[:waits])
        return as_text(entry)

    async def start_replay(self) -> None:
        return None

    async def replayed(self, lease: str, entry_id: str, fields: dict[bytes, bytes]) -> None:
        return None


class ClusterCommit:
    """A batch journaled with its verdicts first (one slot), then published, acked and marked
    published: a judge restoring publishes what a crash left unpublished."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, settings: Settings) -> None:
        self.redis = redis
        self.keys = keys
        self.replication = Replication(settings.wait_replicas, settings.wait_timeout_ms)
        self._journal = Lua(redis, _JOURNAL)
        self._published = Lua(redis, _PUBLISHED)
        self._mark: tuple[int, int] = (0, 0)

    async def commit(self, lease: str, batch: Batch) -> str:
        entry = as_text(
            await self._journal(keys=[self.keys.judge_lease(), self.keys.journal()],
                                args=[lease, batch.journal, pickle.dumps(list(batch.outgoing))])
        )  # fmt: skip
        await self._publish(batch.outgoing)
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream, ids in batch.acks.items():
                if ids:
                    pipe.xack(stream, JUDGE_GROUP, *ids)
            for key in batch.feature_keys:
                pipe.delete(key)
            await pipe.execute()
        await self._mark_published(lease, entry)
        return entry

    async def start_replay(self) -> None:
        mark = await self.redis.get(self.keys.published())
        self._mark = stream_id(as_text(mark)) if mark else (0, 0)

    async def replayed(self, lease: str, entry_id: str, fields: dict[bytes, bytes]) -> None:
        if stream_id(entry_id) > self._mark:  # its publication may not have happened
            await self._publish(pickle.loads(fields[b"o"]))
            await self._mark_published(lease, entry_id)

    async def _mark_published(self, lease: str, entry_id: str) -> None:
        await self._published(keys=[self.keys.judge_lease(), self.keys.published()],
                              args=[lease, entry_id])  # fmt: skip

    async def _publish(self, outgoing: Sequence[Outgoing]) -> None:
        if not outgoing:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for message in outgoing:
                pipe.xadd(message.stream, {DATA_FIELD: message.payload})
            waits = self.replication.queue_wait(
                self.redis, pipe, sorted({m.stream for m in outgoing})
            )
            replies: list[Any] = await pipe.execute()
        self.replication.check(replies[len(outgoing) : len(outgoing) + waits])


def commit_for(redis: aioredis.Redis, keys: Keys, settings: Settings) -> Commit:
    return (ClusterCommit if settings.cluster else ServerCommit)(redis, keys, settings)
