"""Recording a decision and its verdict together on a Redis Cluster, where no transaction spans
slots.

On one server a batch commits in one transaction (``DedupeEngine._commit_all``). On a cluster
the index entry, verdict and story member of an article share its hash tag ``{<id>}``, but the
verdict stream and the raw stream live in other slots. So the decision is recorded in the
article's own slot together with the verdict message to publish (its outbox), by one script that
does nothing if the article is decided already; the message then goes to its stream, the outbox
is cleared and the raw entry acked. A crash in between leaves the outbox, which the redelivered
entry finds (``RedisIndex.look_up``) and publishes: a verdict is published at least once, twice
only when a crash falls between publishing and clearing, and the store keeps an article once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from pydantic import BaseModel

from shared.models import Verdict
from shared.redis import Lua, get_many
from shared.streams import Keys

# KEYS: entry, verdict, story member, outbox of one article (one slot). ARGV: 'K' (canonical:
# the final entry) or 'D' (duplicate: the verdict record), that value, its expiry, the story
# member ('' for none), its expiry, the outbox message. 1 when recorded, 0 when decided before.
_RECORD = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('GETRANGE', KEYS[1], 0, 0) == 'K' then return 0 end
if ARGV[1] == 'K' then
  redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
else
  redis.call('SET', KEYS[2], ARGV[2], 'PXAT', ARGV[3])
  redis.call('DEL', KEYS[1])
end
if ARGV[4] ~= '' then redis.call('SET', KEYS[3], ARGV[4], 'PXAT', ARGV[5]) end
redis.call('SET', KEYS[4], ARGV[6], 'PXAT', ARGV[3])
return 1
"""


class Outgoing(BaseModel):
    """A verdict waiting in an article's outbox, and the stream it goes to."""

    stream: str
    verdict: Verdict


@dataclass(frozen=True)
class Record:
    """One article's final writes: ``value`` is its canonical entry or its duplicate verdict."""

    article_id: str
    canonical: bool
    value: bytes | str
    expiry_ms: int
    member: bytes | None
    member_expiry_ms: int
    outgoing: Outgoing


class Outbox:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._record = Lua(redis, _RECORD)

    async def record_all(self, records: Sequence[Record]) -> list[bool]:
        """Record each decision with its verdict; False where the article was decided before."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for r in records:
                i = r.article_id
                keys = [self.keys.entry(i), self.keys.verdict(i), self.keys.story_member(i),
                        self.keys.outbox(i)]  # fmt: skip
                args = [
                    "K" if r.canonical else "D", r.value, r.expiry_ms, r.member or b"",
                    r.member_expiry_ms, r.outgoing.model_dump_json(),
                ]  # fmt: skip
                await self._record(keys=keys, args=args, client=pipe)
            replies = await pipe.execute()
        return [bool(reply) for reply in replies]

    async def pending(self, article_ids: Sequence[str]) -> dict[str, Outgoing]:
        """The verdicts still waiting in these articles' outboxes."""
        if not article_ids:
            return {}
        values = await get_many(self.redis, [self.keys.outbox(i) for i in article_ids])
        return {
            i: Outgoing.model_validate_json(v)
            for i, v in zip(article_ids, values, strict=True)
            if v
        }

    async def clear(self, article_ids: Sequence[str]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for article_id in article_ids:
                pipe.delete(self.keys.outbox(article_id))
            await pipe.execute()
