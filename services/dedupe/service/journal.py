"""What makes the judge's work durable: its fenced commit, its journal, its snapshots.

A batch is committed by one script that checks the judge's lease (``lease.FENCE``), appends
the batch to the journal (each article's stream position, what the judge knew of it and its
text features as judged, pickled by the fold), puts the verdicts on their streams, acks the raw
entries in the judge's group and deletes their feature records: on one Redis server, all of it
or none. A judge that restores the state (the last snapshot, then the journal after it, folded
again) has exactly the state the verdicts were published from.

On a Redis Cluster a script touches one slot: the fenced script writes the journal entry,
which also holds the batch's verdicts (an outbox); then the verdicts go to their streams, the
raw entries are acked, and a fenced write marks the entry published. A judge restoring finds
the entries after that mark and publishes their verdicts again (the store keeps one row per
article whatever it is sent).

A snapshot is the whole state (pickled by the fold: it is its own data, in its own Redis),
written in parts by a copy of the fold's process (``write_snapshot``); a fenced switch makes it
the snapshot and trims the journal below it. The
pickle's layout is ``STATE_FORMAT``, recorded with the deployment's parameters (``params.py``):
a judge whose state classes differ refuses to start rather than restore what it cannot read.

Nothing here unpickles the state or folds: the journal moves bytes between Redis and the fold
(``fold.FoldClient``), whose work runs off the event loop.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.typing import EncodableT, KeyT

from services.dedupe.judge.fold import Outgoing
from services.dedupe.service.lease import FENCE
from services.dedupe.service.snapshots import Snapshot, Stored
from shared.redis import Lua, Replication, as_text, is_cluster
from shared.settings import Settings
from shared.streams import DATA_FIELD, JUDGE_GROUP, Keys, stream_id

if TYPE_CHECKING:
    from services.dedupe.service.fold_process import FoldClient

# The layout of the pickled state and journal (the judge's, index's and stories' classes). It
# changes with them.
STATE_FORMAT = "6"

log = logging.getLogger("newsdedup.judge")

REPLAY_READ = 200  # journal entries per read when restoring

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

# KEYS: lease, snapshot, journal, the new snapshot's parts, then the parts of the snapshot it
# replaces; ARGV: lease value, the new snapshot's name, parts and journal entry.
_SWITCH = (
    FENCE
    + """
redis.call('HSET', KEYS[2], 'name', ARGV[2], 'parts', ARGV[3], 'journal', ARGV[4])
redis.call('XTRIM', KEYS[3], 'MINID', ARGV[4])
local new = tonumber(ARGV[3])
for i = 4, 3 + new do redis.call('PERSIST', KEYS[i]) end
if #KEYS > 3 + new then redis.call('DEL', unpack(KEYS, 4 + new, #KEYS)) end
return 1
"""
)


@dataclass(frozen=True)
class Batch:
    """A judged batch, as a commit writes it."""

    journal: bytes  # the journal entry: the batch's judgements, as the fold pickled them
    outgoing: Sequence[Outgoing]  # their verdicts
    acks: dict[str, list[str]]  # every entry read, by raw stream, judged or not
    feature_keys: Sequence[str]  # the text workers' records used up


@dataclass(frozen=True)
class Restored:
    journal_id: str  # the last journal entry folded in
    indexed: int  # articles in the judge's index
    replayed: int  # articles folded in from the journal after the snapshot


class Journal:
    def __init__(self, redis: aioredis.Redis, keys: Keys, settings: Settings) -> None:
        self.redis = redis
        self.keys = keys
        self.settings = settings
        self.cluster = is_cluster(redis)
        self.replication = Replication(settings.wait_replicas, settings.wait_timeout_ms)
        self._commit = Lua(redis, _COMMIT)
        self._journal = Lua(redis, _JOURNAL)
        self._published = Lua(redis, _PUBLISHED)
        self._switch = Lua(redis, _SWITCH)

    async def commit(self, lease: str, batch: Batch) -> str:
        """Make a judged batch durable and published; the journal entry's id. Raises a
        ``ResponseError`` saying FENCED when the lease is no longer ``lease``."""
        if self.cluster:
            return await self._commit_slotwise(lease, batch)
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
            waits = self.replication.queue_wait(pipe, [self.keys.journal()])
            entry, *confirmations = await pipe.execute()
        self.replication.check(confirmations[:waits])
        return as_text(entry)

    async def _commit_slotwise(self, lease: str, batch: Batch) -> str:
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
        await self._published(keys=[self.keys.judge_lease(), self.keys.published()],
                              args=[lease, entry])  # fmt: skip
        return entry

    async def _publish(self, outgoing: Sequence[Outgoing]) -> None:
        if not outgoing:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for message in outgoing:
                pipe.xadd(message.stream, {DATA_FIELD: message.payload})
            waits = self.replication.queue_wait(pipe, sorted({m.stream for m in outgoing}))
            replies = await pipe.execute()
        self.replication.check(replies[len(outgoing) : len(outgoing) + waits])

    async def restore(self, lease: str, fold: FoldClient) -> Restored:
        """Bring ``fold`` to the state the last commit left: the snapshot, then the journal
        after it."""
        started = time.monotonic()
        meta = await self._snapshot_meta()
        journal_id = "0-0"
        if meta:
            assert self.settings.redis_url is not None
            stored = Stored(self.settings.redis_url, self.cluster, self.keys, meta["name"],
                            int(meta["parts"]))  # fmt: skip
            await fold.load(stored)
            journal_id = meta["journal"]
        else:
            await fold.load(None)
        published = None
        if self.cluster:
            mark = await self.redis.get(self.keys.published())
            published = stream_id(as_text(mark)) if mark else (0, 0)
        replayed = 0
        while True:
            entries: Any = await self.redis.xrange(
                self.keys.journal(), f"({journal_id}", "+", count=REPLAY_READ
            )
            if not entries:
                break
            for entry_id, fields in entries:
                entry = as_text(entry_id)
                if published is not None and stream_id(entry) > published:
                    # Its publication may not have happened.
                    await self._publish(pickle.loads(fields[b"o"]))
                    await self._published(
                        keys=[self.keys.judge_lease(), self.keys.published()],
                        args=[lease, entry],
                    )
            replayed += await fold.replay([fields[b"b"] for _, fields in entries])
            journal_id = as_text(entries[-1][0])
        indexed = await fold.indexed()
        log.info(
            "judge state restored",
            extra={"indexed": indexed, "replayed": replayed,
                   "seconds": round(time.monotonic() - started, 3)},
        )  # fmt: skip
        return Restored(journal_id, indexed, replayed)

    async def _snapshot_meta(self) -> dict[str, str]:
        return {as_text(k): as_text(v) for k, v in
                (await self.redis.hgetall(self.keys.snapshot())).items()}  # fmt: skip

    async def switch(self, lease: str, written: Snapshot, parts: int) -> None:
        """Make the snapshot whose ``parts`` ``write_snapshot`` wrote the one a new judge
        restores, and trim the journal it covers."""
        old = await self._snapshot_meta()
        replaced = [self.keys.snapshot_part(old["name"], n) for n in range(int(old["parts"]))
                    if old["name"] != written.name] if old else []  # fmt: skip
        new = [self.keys.snapshot_part(written.name, n) for n in range(parts)]
        keys = [self.keys.judge_lease(), self.keys.snapshot(), self.keys.journal(), *new,
                *replaced]  # fmt: skip
        await self._switch(keys=keys, args=[lease, written.name, parts, written.journal_id])
