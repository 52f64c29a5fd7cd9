"""Judging in ingest order across the raw stream's partitions.

Within one stream, replicas take articles in ingest order, and an article that finds no earlier
copy waits a short grace for one another replica took a moment before (``settle_ms``); a replica
that reads the stream alone (no other consumer of the group has read it lately) has nobody to
wait for, and its articles do not wait. With
partitions, one partition may lag another by far more than that: the earlier of two copies may
sit undelivered in a slow partition while the later one is judged. So before an article may be
judged canonical, every partition must have handed out an article at least as late as it (the
replicas keep, per partition, the latest article id they took), or all it holds: any earlier
copy is then filed, or being filed, and the grace's second look finds it.

The wait is bounded (``NEWSDEDUP_PARTITION_WAIT_MS``): a partition may be behind only because its
consumer is busy with an article that waits, in turn, for one the waiting batch holds (a similar
contender to settle), and every wait inside a batch holds up the partition it came from.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import redis.asyncio as aioredis

from shared.redis import Lua, as_text
from shared.streams import Keys

log = logging.getLogger("newsdedup.dedupe")

# A partition behind that takes nothing new for this long is not lagging but stuck behind the
# waiting article itself.
STALL_SECONDS = 0.5

# KEYS[1]: a stream, KEYS[2]: its mark (the latest article id taken from it); ARGV[1]: a group.
# '' when the group has been delivered every entry (or there is no such stream or group), else
# the mark ('0' before the first).
_DELIVERED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return '' end
local stream = redis.call('XINFO', 'STREAM', KEYS[1])
local last = ''
for i = 1, #stream, 2 do
  if stream[i] == 'last-generated-id' then last = stream[i + 1] end
end
for _, fields in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local group = {}
  for i = 1, #fields, 2 do group[fields[i]] = fields[i + 1] end
  if group['name'] == ARGV[1] then
    if group['last-delivered-id'] == last then return '' end
    return redis.call('GET', KEYS[2]) or '0'
  end
end
return ''
"""

# KEYS[1]: a stream's mark; ARGV[1]: an article id taken from it. Ids sort as strings.
_MARK = """
local mark = redis.call('GET', KEYS[1])
if not mark or mark < ARGV[1] then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""


def delivered_past(delivered: str, article_id: str) -> bool:
    """Whether a partition whose latest article taken is ``delivered`` ('' for all it holds)
    holds no undelivered article ingested before ``article_id``. Ids sort by ingest time."""
    return not delivered or delivered >= article_id


class Partitions:
    def __init__(
        self, redis: aioredis.Redis, keys: Keys, streams: Sequence[str], group: str
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.streams = list(streams)
        self.group = group
        self._delivered = Lua(redis, _DELIVERED)
        self._mark = Lua(redis, _MARK)

    async def others_reading(self, consumer: str, within_ms: int) -> bool:
        """Whether a consumer of the group other than ``consumer`` read one of the partitions
        in the last ``within_ms``: it may be filing an earlier copy right now.

        A live consumer is seen at least every time it reads, or re-claims the entries it is
        busy with; one unseen for longer than that is dead, and its entries are taken over.
        """
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream in self.streams:
                pipe.xinfo_consumers(stream, self.group)
            replies = await pipe.execute(raise_on_error=False)
        return any(
            as_text(c["name"]) != consumer and int(c["idle"]) < within_ms
            for reply in replies
            if not isinstance(reply, Exception)  # no such stream or group yet: nobody reads it
            for c in reply
        )

    async def taken(self, stream: str, article_ids: Sequence[str]) -> None:
        """Record that these articles were taken from ``stream`` (before they are filed)."""
        if len(self.streams) > 1 and article_ids:
            await self._mark(keys=[self.keys.taken(stream)], args=[max(article_ids)])

    async def delivered(self, article_id: str) -> bool:
        """Whether every partition handed out everything ingested before ``article_id``."""
        return not await self.behind(article_id)

    async def behind(self, article_id: str) -> dict[str, str]:
        """The partitions that may still hold an article ingested before ``article_id``, with
        the latest article taken from each."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream in self.streams:
                keys = [stream, self.keys.taken(stream)]
                await self._delivered(keys=keys, args=[self.group], client=pipe)
            replies = [as_text(r) for r in await pipe.execute()]
        return {
            stream: taken
            for stream, taken in zip(self.streams, replies, strict=True)
            if not delivered_past(taken, article_id)
        }

    async def wait_delivered(self, article_id: str, timeout_s: float) -> None:
        """Wait until ``delivered(article_id)`` while the partitions behind move on.

        One that stops moving is busy with an article that waits, in turn, for one this caller
        holds (a similar contender to settle): then, or past the timeout, judge anyway.
        """
        if len(self.streams) < 2:
            return  # one stream: taken in order, the grace covers the replicas
        started = moved_at = time.monotonic()
        seen: dict[str, str] = {}
        delay = 0.002
        while behind := await self.behind(article_id):
            now = time.monotonic()
            if behind != seen:
                seen, moved_at = behind, now
            elif now - moved_at > STALL_SECONDS or now - started > timeout_s:
                log.info("partitions behind do not move; judging without waiting for them",
                         extra={"article_id": article_id, "behind": behind})  # fmt: skip
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
