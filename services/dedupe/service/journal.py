"""The judge's journal and snapshots: how a judge restores the state the last commit left.

Every commit (``commit.py``) appends its batch to the journal. A judge that restores the state
(the last snapshot, then the journal after it, folded again) has exactly the state the verdicts
were published from.

A snapshot is the whole state (pickled by the fold: it is its own data, in its own Redis),
written in parts by a copy of the fold's process (``write_snapshot``); a fenced switch makes it
the snapshot and trims the journal below it. The
pickle's layout is ``STATE_FORMAT``, recorded with the deployment's parameters (``params``):
a judge whose state classes differ refuses to start rather than restore what it cannot read.

Nothing here unpickles the state or folds: the journal moves bytes between Redis and the fold
(``fold.FoldClient``), whose work runs off the event loop.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from services.dedupe.service.commit import Commit
from services.dedupe.service.lease import FENCE
from services.dedupe.service.snapshots import Snapshot, Stored
from shared.lua import Lua
from shared.redis import as_text
from shared.streams import Keys

if TYPE_CHECKING:
    from services.dedupe.service.fold_process import FoldClient

# The layout of the pickled state and journal (the judge's, index's and stories' classes). It
# changes with them.
STATE_FORMAT = "8"

log = logging.getLogger("newsdedup.judge")

REPLAY_READ = 200  # journal entries per read when restoring


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
class Restored:
    journal_id: str  # the last journal entry folded in
    indexed: int  # articles in the judge's index
    replayed: int  # articles folded in from the journal after the snapshot


class Journal:
    def __init__(self, redis: aioredis.Redis, keys: Keys, commit: Commit) -> None:
        self.redis = redis
        self.keys = keys
        self.commit = commit
        self._switch = Lua(redis, _SWITCH)

    async def restore(self, lease: str, fold: FoldClient) -> Restored:
        """Bring ``fold`` to the state the last commit left: the snapshot, then the journal
        after it."""
        started = time.monotonic()
        meta = await self._snapshot_meta()
        journal_id = "0-0"
        if meta:
            await fold.load(Stored(meta["name"], int(meta["parts"])))
            journal_id = meta["journal"]
        else:
            await fold.load(None)
        await self.commit.start_replay()
        replayed = 0
        while True:
            entries: Any = await self.redis.xrange(
                self.keys.journal(), f"({journal_id}", "+", count=REPLAY_READ
            )
            if not entries:
                break
            for entry_id, fields in entries:
                await self.commit.replayed(lease, as_text(entry_id), fields)
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
