"""What makes the judge's work durable: its fenced commit, its journal, its snapshots.

A batch is committed by one script that checks the judge's lease (``lease.FENCE``), appends
the batch to the journal (each article's stream position, what the judge knew of it and its
text features as judged), puts the verdicts on their streams, acks the raw entries in the
judge's group and deletes their feature records: on one Redis server, all of it or none. A
judge that restores the state (the last snapshot, then the journal after it, folded again)
has exactly the state the verdicts were published from.

On a Redis Cluster a script touches one slot: the fenced script writes the journal entry,
which also holds the batch's verdicts (an outbox); then the verdicts go to their streams, the
raw entries are acked, and a fenced write marks the entry published. A judge restoring finds
the entries after that mark and publishes their verdicts again (the store keeps one row per
article whatever it is sent).

Every ``snapshot_every`` articles the judge writes its whole state (pickled: it is its own
data, in its own Redis) in parts, switches the snapshot to it and trims the journal below it,
all fenced. The pickle's layout is ``STATE_FORMAT``, recorded with the deployment's parameters
(``params.py``): a judge whose state classes differ refuses to start rather than restore what
it cannot read.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.typing import EncodableT, KeyT

from services.dedupe.judge import Article, Judge
from services.dedupe.lease import FENCE
from services.dedupe.textwork import decode_features
from shared.redis import Lua, Replication, as_bytes, as_text, is_cluster
from shared.settings import Settings
from shared.streams import DATA_FIELD, JUDGE_GROUP, Keys

# The layout of the pickled state and journal (the judge's, index's and stories' classes). It
# changes with them.
STATE_FORMAT = "3"

log = logging.getLogger("newsdedup.judge")

SNAPSHOT_PART_BYTES = 64 << 20
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

# On a cluster: KEYS: lease, journal; ARGV: lease value, journal entry.
_JOURNAL = FENCE + "return redis.call('XADD', KEYS[2], '*', 'b', ARGV[2])"

# KEYS: lease, published mark; ARGV: lease value, journal entry id.
_PUBLISHED = FENCE + "return redis.call('SET', KEYS[2], ARGV[2])"

# KEYS: lease, snapshot, journal, then the parts of the snapshot it replaces; ARGV: lease
# value, the new snapshot's name, parts and journal entry.
_SWITCH = (
    FENCE
    + """
redis.call('HSET', KEYS[2], 'name', ARGV[2], 'parts', ARGV[3], 'journal', ARGV[4])
redis.call('XTRIM', KEYS[3], 'MINID', ARGV[4])
if #KEYS > 3 then redis.call('DEL', unpack(KEYS, 4, #KEYS)) end
return 1
"""
)

# KEYS: lease, a snapshot part; ARGV: lease value, the part.
_PART = FENCE + "return redis.call('SET', KEYS[2], ARGV[2])"


@dataclass(frozen=True)
class Judgement:
    """One article as the journal keeps it: enough to fold it into the state again."""

    stream: str
    message_id: str
    article: Article
    features: bytes  # ``textwork.encode_features`` of the features as judged


@dataclass
class JudgeState:
    """The judge and where it stands: the last entry judged in each raw stream, and the last
    journal entry folded in."""

    judge: Judge
    positions: dict[str, str] = field(default_factory=dict)
    journal_id: str = "0-0"
    since_snapshot: int = 0

    def replay(self, judgements: Sequence[Judgement]) -> None:
        for j in judgements:
            self.judge.judge(j.article, decode_features(j.features))
            self.positions[j.stream] = j.message_id


def stream_id(message_id: str) -> tuple[int, int]:
    ms, _, seq = message_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True)
class Outgoing:
    stream: str  # a verdict stream
    payload: bytes


@dataclass(frozen=True)
class Batch:
    """A judged batch, as a commit writes it."""

    judgements: Sequence[Judgement]  # in the order judged
    outgoing: Sequence[Outgoing]  # their verdicts
    acks: dict[str, list[str]]  # every entry read, by raw stream, judged or not
    feature_keys: Sequence[str]  # the text workers' records used up


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
        self._part = Lua(redis, _PART)

    async def commit(self, lease: str, batch: Batch) -> str:
        """Make a judged batch durable and published; the journal entry's id. Raises a
        ``ResponseError`` saying FENCED when the lease is no longer ``lease``."""
        if self.cluster:
            return await self._commit_slotwise(lease, batch)
        judgements, outgoing, acks = batch.judgements, batch.outgoing, batch.acks
        s = self.settings
        streams = list(acks)
        keys: list[KeyT] = [
            self.keys.judge_lease(), self.keys.journal(), s.stream_canonical,
            s.stream_duplicates, *streams, *batch.feature_keys,
        ]  # fmt: skip
        args: list[EncodableT] = [lease, pickle.dumps(list(judgements)), JUDGE_GROUP,
                                  len(streams), len(outgoing)]  # fmt: skip
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
        blob = pickle.dumps((list(batch.judgements), list(batch.outgoing)))
        entry = as_text(
            await self._journal(keys=[self.keys.judge_lease(), self.keys.journal()],
                                args=[lease, blob])
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

    async def restore(self, lease: str, fresh: Callable[[], Judge]) -> JudgeState:
        """The state as the last commit left it: the snapshot, then the journal after it."""
        started = time.monotonic()
        state = await self._load_snapshot() or JudgeState(fresh())
        published = None
        if self.cluster:
            mark = await self.redis.get(self.keys.published())
            published = stream_id(as_text(mark)) if mark else (0, 0)
        replayed = 0
        cursor = f"({state.journal_id}"
        while True:
            entries: Any = await self.redis.xrange(
                self.keys.journal(), cursor, "+", count=REPLAY_READ
            )
            if not entries:
                break
            for entry_id, fields in entries:
                entry = as_text(entry_id)
                if self.cluster:
                    judgements, outgoing = pickle.loads(fields[b"b"])
                    if published is not None and stream_id(entry) > published:
                        await self._publish(outgoing)  # its publication may not have happened
                        await self._published(
                            keys=[self.keys.judge_lease(), self.keys.published()],
                            args=[lease, entry],
                        )
                else:
                    judgements = pickle.loads(fields[b"b"])
                state.replay(judgements)
                state.journal_id = entry
                state.since_snapshot += len(judgements)
                replayed += len(judgements)
            cursor = f"({as_text(entries[-1][0])}"
        log.info(
            "judge state restored",
            extra={"indexed": len(state.judge.index), "replayed": replayed,
                   "seconds": round(time.monotonic() - started, 3)},
        )  # fmt: skip
        return state

    async def _load_snapshot(self) -> JudgeState | None:
        meta = {as_text(k): as_text(v) for k, v in
                (await self.redis.hgetall(self.keys.snapshot())).items()}  # fmt: skip
        if not meta:
            return None
        parts: list[bytes] = []
        for n in range(int(meta["parts"])):
            part = await self.redis.get(self.keys.snapshot_part(meta["name"], n))
            if part is None:
                raise RuntimeError("the judge's snapshot is missing a part")
            parts.append(as_bytes(part))
        state: JudgeState = pickle.loads(b"".join(parts))
        state.journal_id = meta["journal"]
        state.since_snapshot = 0
        return state

    async def snapshot(self, lease: str, state: JudgeState) -> int:
        """Write the whole state, switch to it and trim the journal it covers; its size."""
        started = time.monotonic()
        data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        name = f"{lease.split(':', 1)[0]}-{state.journal_id}"
        parts = [data[n : n + SNAPSHOT_PART_BYTES]
                 for n in range(0, len(data), SNAPSHOT_PART_BYTES)] or [b""]  # fmt: skip
        for n, part in enumerate(parts):
            await self._part(keys=[self.keys.judge_lease(), self.keys.snapshot_part(name, n)],
                             args=[lease, part])  # fmt: skip
        old = {as_text(k): as_text(v) for k, v in
               (await self.redis.hgetall(self.keys.snapshot())).items()}  # fmt: skip
        replaced = [self.keys.snapshot_part(old["name"], n) for n in range(int(old["parts"]))
                    if old["name"] != name] if old else []  # fmt: skip
        keys = [self.keys.judge_lease(), self.keys.snapshot(), self.keys.journal(), *replaced]
        await self._switch(keys=keys, args=[lease, name, len(parts), state.journal_id])
        state.since_snapshot = 0
        log.info(
            "judge snapshot written",
            extra={"bytes": len(data), "indexed": len(state.judge.index),
                   "seconds": round(time.monotonic() - started, 3)},
        )  # fmt: skip
        return len(data)
