"""The judge's lease: at most one dedupe process judges at a time, and a judge that lost its
lease cannot write.

The lease is a Redis key set with NX and a time to live, renewed by its holder a few times per
lifetime. Its value carries a fencing token, a number drawn from a counter that only grows:
every write the judge makes runs in a script that first compares the lease's value with its own
(``FENCE``), so a judge paused past its lease (SIGSTOP, a long GC, a lost network) and woken up
after another took over finds a value that is not its own and writes nothing.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from shared.lua import Lua
from shared.redis import as_text
from shared.streams import Keys

# KEYS[1]: the lease, KEYS[2]: the token counter; ARGV: the holder's name, the lease time (ms).
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
local value = token .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return value
"""

# KEYS[1]: the lease; ARGV: the holder's value, the lease time (ms).
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""

# The first lines of every script the judge writes with: KEYS[1] is the lease, ARGV[1] the value
# its holder was given.
FENCE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED') end
"""


class LeaseLost(RuntimeError):
    """This process no longer holds the judge's lease: another judge may be judging."""


def is_fenced(error: BaseException) -> bool:
    return "FENCED" in str(error)


class Lease:
    def __init__(self, redis: aioredis.Redis, keys: Keys, holder: str, lease_ms: int) -> None:
        self.keys = keys
        self.holder = holder
        self.lease_ms = lease_ms
        self._acquire = Lua(redis, _ACQUIRE)
        self._renew = Lua(redis, _RENEW)
        self._release = Lua(redis, _RELEASE)

    async def acquire(self) -> str | None:
        """The lease's value (``token:holder``) if this process took it; None if another has it."""
        keys = [self.keys.judge_lease(), self.keys.judge_token()]
        value = await self._acquire(keys=keys, args=[self.holder, self.lease_ms])
        return as_text(value) if value else None

    async def renew(self, value: str) -> bool:
        return bool(await self._renew(keys=[self.keys.judge_lease()], args=[value, self.lease_ms]))

    async def release(self, value: str) -> None:
        await self._release(keys=[self.keys.judge_lease()], args=[value])
