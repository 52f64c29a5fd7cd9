"""Enqueueing accepted articles, atomically with the idempotency record.

One Lua script does both: a retried POST with the same Idempotency-Key finds the first answer,
and no crash can leave a key recorded for an article that was never enqueued (or the reverse).
The same script refuses articles past the backlog limit. The raw stream is trimmed as dedupe
acks, so its length is what dedupe has not finished yet.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from shared.models import RawArticle
from shared.redis import Lua
from shared.streams import DATA_FIELD

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
    def __init__(
        self, redis: aioredis.Redis, stream: str, idempotency_ttl: int, max_backlog: int
    ) -> None:
        self.stream = stream
        self.ttl = idempotency_ttl
        self.max_backlog = max_backlog
        self._script = Lua(redis, _ENQUEUE)

    async def enqueue(
        self, articles: Sequence[RawArticle], response: str, idempotency_key: str | None
    ) -> str | None:
        """Add all articles to the stream in one step; return the earlier response on a replay."""
        keys = [self.stream] + ([idempotency_key] if idempotency_key else [])
        args: list[str | int] = [DATA_FIELD, self.ttl, response, self.max_backlog]
        args.extend(a.model_dump_json() for a in articles)
        previous = await self._script(keys=keys, args=args)
        if previous is None:
            return None
        if isinstance(previous, int):
            raise QueueFull(previous)
        return previous.decode() if isinstance(previous, bytes) else str(previous)
