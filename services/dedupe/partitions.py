"""Judging in ingest order across the raw stream's partitions.

Within one stream, replicas take articles in ingest order, and an article that finds no earlier
copy waits a short grace for one another replica took a moment before (``settle_ms``). With
partitions, one partition may lag another by far more than that: the earlier of two copies may
sit undelivered in a slow partition while the later one is judged. So before an article may be
judged canonical, every partition must have delivered an article at least as late as it (or
all it holds): ingest adds a partition's articles in id order, so any earlier copy is then filed,
or being filed, and the grace's second look finds it. The articles that wait are always later
than what they wait for, so two never wait for each other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import redis.asyncio as aioredis

from shared.redis import Lua, as_text
from shared.streams import DATA_FIELD

log = logging.getLogger("newsdedup.dedupe")

# KEYS[1]: a stream; ARGV[1]: a group, ARGV[2]: the stream's data field. The article id of the
# last entry delivered to the group ('0' before the first); '' when it has been delivered every
# entry (or the stream or group does not exist, or that entry is gone: nothing to wait for).
_DELIVERED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return '' end
local stream = redis.call('XINFO', 'STREAM', KEYS[1])
local last = ''
for i = 1, #stream, 2 do
  if stream[i] == 'last-generated-id' then last = stream[i + 1] end
end
local delivered = nil
for _, fields in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local group = {}
  for i = 1, #fields, 2 do group[fields[i]] = fields[i + 1] end
  if group['name'] == ARGV[1] then delivered = group['last-delivered-id'] end
end
if delivered == nil or delivered == last then return '' end
if delivered == '0-0' then return '0' end
local entry = redis.call('XRANGE', KEYS[1], delivered, delivered)
if #entry == 0 then return '' end
local fields = entry[1][2]
for i = 1, #fields, 2 do
  if fields[i] == ARGV[2] then
    local ok, article = pcall(cjson.decode, fields[i + 1])
    if ok and type(article) == 'table' and type(article['id']) == 'string' then
      return article['id']
    end
  end
end
return ''
"""


def delivered_past(delivered: str, article_id: str) -> bool:
    """Whether a partition whose last delivered article is ``delivered`` ('' for all it holds)
    still holds an article ingested before ``article_id`` undelivered. Ids sort by ingest time."""
    return not delivered or delivered >= article_id


class Partitions:
    def __init__(self, redis: aioredis.Redis, streams: Sequence[str], group: str) -> None:
        self.redis = redis
        self.streams = list(streams)
        self.group = group
        self._delivered = Lua(redis, _DELIVERED)

    async def delivered(self, article_id: str) -> bool:
        """Whether every partition delivered everything ingested before ``article_id``."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream in self.streams:
                args = [self.group, DATA_FIELD]
                await self._delivered(keys=[stream], args=args, client=pipe)
            replies = await pipe.execute()
        return all(delivered_past(as_text(r), article_id) for r in replies)

    async def wait_delivered(self, article_id: str, timeout_s: float) -> None:
        """Wait until ``delivered(article_id)``; past the timeout, judge anyway (and say so)."""
        if len(self.streams) < 2:
            return  # one stream: taken in order, the grace covers the replicas
        deadline = time.monotonic() + timeout_s
        delay = 0.002
        while not await self.delivered(article_id):
            if time.monotonic() > deadline:
                log.warning("partitions lag; judging without waiting for them",
                            extra={"article_id": article_id})  # fmt: skip
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
