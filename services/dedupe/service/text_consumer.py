"""The text work as a stream consumer: every dedupe replica takes batches of raw articles
through the ``dedupe`` group, works out their text features and leaves them for the judge in a
short-lived record each.

Nothing here decides anything, so a batch done twice (a replica taking over a dead one's
entries) does no harm. While its own process judges, a replica's text work only acks what it
reads: the judge works on whatever no other replica has done before it gets there, so a stack
with one dedupe process does each article's text work once, in the judge, with no record.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import redis.asyncio as aioredis

from services.dedupe.text.features import TextWork, encode_features
from services.dedupe.text.furniture import EDGE_LINE_CHARS
from services.dedupe.text.signature import Signer
from shared.consumer import Delivery
from shared.metrics import TEXT_WORK_CPU
from shared.models import RawArticle
from shared.streams import Keys

# Long enough for a judge that is restarting to find them; the judge deletes the records it
# used, and works on any article whose record is gone.
FEATURES_TTL_MS = 10 * 60_000


class TextWorker:
    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        signer: Signer,
        judging: Callable[[], bool] = lambda: False,
        edge_line_chars: int = EDGE_LINE_CHARS,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.text_work = TextWork(signer, edge_line_chars)
        self.judging = judging

    async def handle(self, deliveries: Sequence[Delivery[RawArticle]]) -> None:
        if not deliveries:
            return
        todo = [] if self.judging() else deliveries
        # On a worker thread: the event loop stays free for health and the judge's lease.
        records = await asyncio.to_thread(self._work, todo) if todo else []
        first = deliveries[0]
        async with self.redis.pipeline(transaction=False) as pipe:
            for d, record in records:
                pipe.set(self.keys.features(d.stream, d.item.id), record, px=FEATURES_TTL_MS)
            pipe.xack(first.stream, first.group, *(d.message_id for d in deliveries))
            await pipe.execute()

    def _work(
        self, todo: Sequence[Delivery[RawArticle]]
    ) -> list[tuple[Delivery[RawArticle], bytes]]:
        started = time.process_time()
        records = [(d, encode_features(self.text_work.features(d.item))) for d in todo]
        TEXT_WORK_CPU.inc(time.process_time() - started)
        return records
