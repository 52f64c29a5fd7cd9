"""Enqueueing accepted articles, atomically with the idempotency record.

One Lua script does both: a retried POST with the same Idempotency-Key finds the first answer,
and no crash can leave a key recorded for an article that was never enqueued (or the reverse).
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from shared.models import RawArticle
from shared.streams import DATA_FIELD

# KEYS: stream, [idempotency key]. ARGV: data field, ttl, response, payload...
_ENQUEUE = """
if KEYS[2] then
  local previous = redis.call('GET', KEYS[2])
  if previous then return previous end
end
for i = 4, #ARGV do
  redis.call('XADD', KEYS[1], '*', ARGV[1], ARGV[i])
end
if KEYS[2] then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[2])
end
return false
"""


class RawQueue:
    def __init__(self, redis: aioredis.Redis, stream: str, idempotency_ttl: int) -> None:
        self.stream = stream
        self.ttl = idempotency_ttl
        self._script = redis.register_script(_ENQUEUE)

    async def enqueue(
        self, articles: Sequence[RawArticle], response: str, idempotency_key: str | None
    ) -> str | None:
        """Add all articles to the stream in one step; return the earlier response on a replay."""
        keys = [self.stream] + ([idempotency_key] if idempotency_key else [])
        args: list[str | int] = [DATA_FIELD, self.ttl, response]
        args.extend(a.model_dump_json() for a in articles)
        previous = await self._script(keys=keys, args=args)
        if previous is None:
            return None
        return previous.decode() if isinstance(previous, bytes) else str(previous)
