"""Trimming a stream only below what every consumer group has acked.

``MAXLEN`` would drop entries no group has read yet when consumers fall behind: silent loss. The
safe point of a group is its oldest pending entry (delivered, not acked) or, with none pending,
its last delivered entry; nothing below the lowest safe point of all groups is needed again. One
Lua script reads the groups and trims, so no group moves back in between; it touches one key.

A group the system depends on that does not exist (yet, or again after it was deleted) has read
nothing: while one is missing, nothing is trimmed. It will be created at ``0`` and read all.

Subscribers that read without a group (plain XREAD, ``tail --from-start``) are not visible to
Redis; ``retain_ms`` keeps a window of recent entries for them whatever the groups have acked.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence

import redis.asyncio as aioredis

from shared.lua import Lua
from shared.redis import TRANSIENT
from shared.settings import Settings
from shared.streams import required_groups

# KEYS: stream. ARGV: the oldest entry time (ms) to keep regardless of acks, then the groups
# that must exist before anything is trimmed.
_TRIM_ACKED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local function before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return 0 end
local missing = {}
for i = 2, #ARGV do missing[ARGV[i]] = true end
local keep = ARGV[1] .. '-0'
for _, fields in ipairs(groups) do
  local group = {}
  for i = 1, #fields, 2 do group[fields[i]] = fields[i + 1] end
  missing[group['name']] = nil
  local safe = group['last-delivered-id']
  if tonumber(group['pending']) > 0 then
    safe = redis.call('XPENDING', KEYS[1], group['name'])[2]
  end
  if before(safe, keep) then keep = safe end
end
if next(missing) then return 0 end
return redis.call('XTRIM', KEYS[1], 'MINID', keep)
"""


class AckedTrimmer:
    """Trims streams below the entries every group has acked, keeping ``retain_ms`` of history."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._script = Lua(redis, _TRIM_ACKED)

    async def trim(
        self,
        stream: str,
        retain_ms: int,
        now_ms: int | None = None,
        required: Sequence[str] = (),
    ) -> int:
        """Remove what no group still needs, nothing while a ``required`` group is missing;
        return how many entries went."""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        removed = await self._script(keys=[stream], args=[max(0, now - retain_ms), *required])
        return int(removed)


TRIM_EVERY_SECONDS = 5.0


class StreamTrimming:
    """When a reader of ``stream`` trims it: whenever a read was short, which is when the stream
    is drained (a burst's entries are gone once handled, not left standing until the next batch:
    ingest counts them as backlog), and every few seconds under load. Nothing is trimmed while a
    group the system needs on the stream is missing. Every reader trims; whichever acks last
    trims what all have read."""

    def __init__(
        self,
        redis: aioredis.Redis,
        settings: Settings,
        stream: str,
        retain_ms: int = 0,
        group: str | None = None,
    ) -> None:
        self.stream = stream
        self.retain_ms = retain_ms
        self.required = sorted({*required_groups(settings).get(stream, ()), *filter(None, [group])})
        self._trimmer = AckedTrimmer(redis)
        self._trimmed_at = 0.0

    async def after_read(self, caught_up: bool) -> None:
        now = time.monotonic()
        if not caught_up and now - self._trimmed_at < TRIM_EVERY_SECONDS:
            return
        self._trimmed_at = now
        with contextlib.suppress(*TRANSIENT):
            await self._trimmer.trim(self.stream, self.retain_ms, required=self.required)
