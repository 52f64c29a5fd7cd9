"""Enqueueing accepted articles, atomically with the idempotency record.

One Lua script does both (the idempotency key shares the stream's Redis Cluster slot): a retried
POST with the same Idempotency-Key finds the first answer, and no crash can leave a key recorded
for an article that was never enqueued (or the reverse). The same script refuses articles past
the backlog limit. The raw stream is trimmed as dedupe acks, so its length is what dedupe has
not finished yet.

Dedupe's consumer groups are declared before the first article is queued (``shared.groups``), so
they see every article accepted, even while dedupe has never run.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence

import redis.asyncio as aioredis

from shared.groups import declare_groups
from shared.lua import Lua
from shared.models import RawArticle
from shared.replication import Replication
from shared.settings import Settings
from shared.streams import DATA_FIELD, keys_for

# KEYS: stream, [idempotency key]. ARGV: data field, ttl, response, max backlog, payload...
# Returns the earlier response (a replay), the backlog (refused), or nothing (queued).
_ENQUEUE = """
if KEYS[2] then
  local previous = redis.call('GET', KEYS[2])
  if previous then return previous end
end
local backlog = redis.call('XLEN', KEYS[1])
if backlog + #ARGV - 4 > tonumber(ARGV[4]) then return backlog end
for i = 5, #ARGV do
  redis.call('XADD', KEYS[1], '*', ARGV[1], ARGV[i])
end
if KEYS[2] then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[2])
end
return false
"""


class QueueFull(Exception):
    """The backlog is at its limit: the client should come back later."""

    def __init__(self, backlog: int) -> None:
        super().__init__(f"{backlog} articles are waiting to be deduplicated")
        self.backlog = backlog


class RawQueue:
    """The raw stream, or its partitions: a request's articles all go to one of them, chosen by
    its idempotency key (so a retry finds the first answer) or else in turn."""

    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self.keys = keys_for(settings)
        self.replication = Replication(settings.wait_replicas, settings.wait_timeout_ms)
        self.streams = settings.raw_streams
        self.ttl = settings.idempotency_ttl_seconds
        self.max_backlog = max(1, settings.max_backlog // len(self.streams))  # per partition
        self._turn = itertools.count()
        self._script = Lua(redis, _ENQUEUE)
        self._declared = False

    def partition(self, idempotency_key: str | None) -> str:
        if idempotency_key is None:
            n = next(self._turn)
        else:
            n = int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:8], "big")
        return self.streams[n % len(self.streams)]

    async def enqueue(
        self, articles: Sequence[RawArticle], response: str, idempotency_key: str | None
    ) -> str | None:
        """Add all articles to one stream in one step; return the earlier response on a replay.

        ``idempotency_key``: the request's key (stored in the chosen stream's slot).
        """
        if not self._declared:  # Redis may be away at start-up: then the request gets a 503
            await declare_groups(self.redis, self.settings, self.streams)
            self._declared = True
        stream = self.partition(idempotency_key)
        keys = [stream]
        if idempotency_key:
            keys.append(self.keys.idempotency(idempotency_key, stream))
        args: list[str | int] = [DATA_FIELD, self.ttl, response, self.max_backlog]
        args.extend(a.model_dump_json() for a in articles)
        if self.replication.replicas:  # answer only once a replica has the articles too
            async with self.redis.pipeline(transaction=False) as pipe:
                await self._script(keys=keys, args=args, client=pipe)
                self.replication.queue_wait(self.redis, pipe, [stream])
                previous, *confirmed = await pipe.execute()
            self.replication.check(confirmed)
        else:
            previous = await self._script(keys=keys, args=args)
        if previous is None:
            return None
        if isinstance(previous, int):
            raise QueueFull(previous)
        return previous.decode() if isinstance(previous, bytes) else str(previous)
