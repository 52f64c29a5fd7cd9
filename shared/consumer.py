"""Reliable consumption of a stream through a consumer group.

FastStream reads the group (a batch subscriber for new entries, an XAUTOCLAIM subscriber for
entries a dead or failing consumer left pending). What FastStream does not give is a delivery
count and a dead-letter stream, so this module keeps both in Redis: every claim of a pending entry
counts one failed delivery, and after ``max_deliveries`` the entry is parked on the dead stream and
acked, so one poison message never blocks the stream.

Handlers ack themselves, inside whatever makes their effect durable (a Redis transaction, a
database commit): an entry is acked exactly when its effect exists.

An outage (Redis restarting, the database unreachable) is not the message's fault: a handler
failing with one of the ``TRANSIENT`` errors (or one the service's ``outage`` rule names) is
retried in place, with backoff, for as long as the outage lasts, its entries kept claimed; it
counts no failed delivery and so never sends good articles to the dead stream. The consumer
also trims its stream below what every group acked.

Entries retried through an outage are kept claimed (their idle time reset a few times per
``claim_idle_ms``), so only entries whose consumer is gone (or gave up on them) look abandoned
and are taken over by another consumer.

A graceful stop finishes what the consumer was given: ``drain`` handles every entry delivered
to this consumer and never handled. Stopping cancels a read that may already have been
answered; its entries are this consumer's pending ones, and left there they would wait
``claim_idle_ms`` for another consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import redis.asyncio as aioredis
from faststream.middlewares import AckPolicy
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.annotations import RedisBatchStreamMessage, RedisStreamMessage
from pydantic import BaseModel, ValidationError

from shared.metrics import BATCH_ENTRIES, BATCH_SECONDS, DEAD_LETTERED
from shared.models import DeadLetter
from shared.redis import TRANSIENT, as_text, is_cluster
from shared.settings import Settings
from shared.streams import Keys, decode, encode, keys_for, payload_of
from shared.trimming import StreamTrimming

log = logging.getLogger("newsdedup.consumer")

M = TypeVar("M", bound=BaseModel)

# Failures of the infrastructure rather than of the message.
MAX_BACKOFF_SECONDS = 5.0
# How long one read blocks waiting for new entries (a new entry ends it at once). FastStream's
# 100 ms default would wake every idle consumer ten times a second, for each partition it reads.
READ_BLOCK_MS = 2_000


def reclaim_poll_ms(claim_idle_ms: int) -> int:
    """How often to look for entries a dead consumer left: they become claimable only after
    ``claim_idle_ms``, so a quarter of that delays a takeover little (and each fresh batch
    looks first anyway)."""
    return max(100, min(claim_idle_ms // 4, 5_000))


@dataclass(frozen=True)
class Delivery(Generic[M]):
    """One stream entry handed to a handler, with what it needs to ack it."""

    stream: str
    group: str
    message_id: str
    item: M


Handler = Callable[[Sequence[Delivery[M]]], Awaitable[None]]


class BatchFailures(Exception):
    """Raised by a handler that processed a batch entry by entry: which entries failed, and why.

    The rest of the batch is done; only these stay pending for a retry.
    """

    def __init__(self, failures: Mapping[str, BaseException]) -> None:
        super().__init__(f"{len(failures)} entries failed")
        self.failures = failures


class GroupConsumer(Generic[M]):
    """Feeds one stream's entries, decoded as ``model``, to ``handler`` through ``group``."""

    def __init__(
        self,
        *,
        redis: aioredis.Redis,
        settings: Settings,
        stream: str,
        group: str,
        model: type[M],
        handler: Handler[M],
        outage: Callable[[BaseException], bool] | None = None,
        retain_ms: int = 0,
    ) -> None:
        """``outage``: which further errors (a database driver's) mean the service is down.

        ``retain_ms``: how much acked history the stream keeps for group-less readers.
        """
        self.redis = redis
        self.settings = settings
        self.stream = stream
        self.group = group
        self.model = model
        self.handler = handler
        self.keys: Keys = keys_for(settings)
        self._outage = outage
        self._trimming = StreamTrimming(redis, settings, stream, retain_ms, group)

    def register(self, broker: RedisBroker) -> None:
        consumer = self.settings.consumer_name
        new_entries = StreamSub(
            self.stream,
            group=self.group,
            consumer=consumer,
            batch=True,
            max_records=self.settings.batch_size,
            polling_interval=READ_BLOCK_MS,
        )
        reclaim = StreamSub(
            self.stream,
            group=self.group,
            consumer=consumer,
            min_idle_time=self.settings.claim_idle_ms,
            polling_interval=reclaim_poll_ms(self.settings.claim_idle_ms),
        )

        async def on_new(body: Any, message: RedisBatchStreamMessage) -> None:
            raw = message.raw_message
            await self.process(list(zip(raw["message_ids"], raw["data"], strict=True)))

        async def on_reclaimed(body: Any, message: RedisStreamMessage) -> None:
            raw = message.raw_message
            await self.process_reclaimed(raw["message_ids"][0], raw["data"])

        broker.subscriber(stream=new_entries, ack_policy=AckPolicy.MANUAL)(on_new)
        broker.subscriber(stream=reclaim, ack_policy=AckPolicy.MANUAL)(on_reclaimed)

    async def drain(self) -> None:
        """After the broker stopped reading: handle what was delivered to this consumer and
        never handled."""
        await self._finish_delivered()

    async def _finish_delivered(self) -> None:
        """Handle, in stream order, the entries pending for this consumer that no handler took:
        those of a read the stop cut short. An entry whose handling failed stays pending, with
        its error, for a retry that counts it (``_redeliverable``)."""
        cursor = "0"
        while True:
            reply: Any = await self.redis.xreadgroup(  # RESP2: a list of (stream, entries)
                self.group, self.settings.consumer_name, {self.stream: cursor},
                count=self.settings.batch_size,
            )  # fmt: skip
            entries = [(as_text(mid), fields) for _, batch in reply for mid, fields in batch]
            if not entries:
                return
            cursor = entries[-1][0]
            async with self.redis.pipeline(transaction=False) as pipe:  # keys in many slots
                for mid, _ in entries:
                    pipe.exists(self.keys.last_error(self.group, mid))
                errors = await pipe.execute()
            unhandled = [e for e, failed in zip(entries, errors, strict=True) if not failed]
            for mid, fields in unhandled:
                if not fields:  # trimmed or deleted while pending: nothing left to do
                    await self.redis.xack(self.stream, self.group, mid)
            await self.process([(mid, fields) for mid, fields in unhandled if fields])

    async def process(self, entries: Sequence[tuple[bytes | str, Any]]) -> None:
        deliveries: list[Delivery[M]] = []
        invalid: list[tuple[str, Any, str]] = []
        for message_id, fields in entries:
            mid = message_id.decode() if isinstance(message_id, bytes) else message_id
            try:
                deliveries.append(Delivery(self.stream, self.group, mid,
                                           decode(self.model, fields)))  # fmt: skip
            except (ValidationError, ValueError) as exc:
                invalid.append((mid, fields, f"invalid payload: {exc}"))
        try:
            if deliveries:
                await self._handle(deliveries)
        finally:
            for mid, fields, error in invalid:  # a payload that does not parse never will
                await self.dead_letter(mid, fields, error, deliveries=1)

    async def process_reclaimed(self, message_id: bytes | str, fields: Any) -> None:
        mid = as_text(message_id)
        if await self._redeliverable(mid, fields):
            await self.process([(mid, fields)])

    async def _redeliverable(self, mid: str, fields: Any) -> bool:
        """Count one failed delivery of a reclaimed entry; dead-letter it after the last one."""
        if not fields:
            # Entry was trimmed or deleted while pending: nothing left to do but ack it.
            await self.redis.xack(self.stream, self.group, mid)
            return False
        failed = int(await self.redis.incr(self.keys.deliveries(self.group, mid)))
        await self.redis.expire(self.keys.deliveries(self.group, mid), 7 * 86400)
        if failed >= self.settings.max_deliveries:
            error = await self.redis.get(self.keys.last_error(self.group, mid))
            reason = as_text(error) if error else "consumer died while processing it"
            await self.dead_letter(mid, fields, reason, deliveries=failed)
            return False
        return True

    async def _handle(self, deliveries: list[Delivery[M]]) -> None:
        caught_up = len(deliveries) < self.settings.batch_size
        BATCH_ENTRIES.labels(self.group).observe(len(deliveries))
        backoff = 0.1
        while deliveries:
            failures = await self._attempt(deliveries)
            retry = [d for d in deliveries if self._is_outage(failures.get(d.message_id))]
            for delivery in deliveries:
                error = failures.get(delivery.message_id)
                if error is not None and not self._is_outage(error):
                    await self._record_failure(delivery, error)
            if retry:
                log.warning(
                    "outage; retrying in place",
                    extra={"stream": self.stream, "entries": len(retry), "backoff": backoff,
                           "error": repr(failures[retry[0].message_id])},
                )  # fmt: skip
                await asyncio.sleep(backoff)
                # Back to claim the entries at once: the outage may have stopped the keeping.
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS, self.settings.claim_idle_ms / 2000)
                await self._keep_claimed([d.message_id for d in retry])
            deliveries = retry
        await self._trimming.after_read(caught_up)

    def _is_outage(self, error: BaseException | None) -> bool:
        if error is None:
            return False
        return isinstance(error, TRANSIENT) or bool(self._outage and self._outage(error))

    async def _attempt(self, deliveries: list[Delivery[M]]) -> dict[str, BaseException]:
        """Run the handler on the batch; the entries that failed, with their errors."""
        try:
            with BATCH_SECONDS.labels(self.group).time():
                await self.handler(deliveries)
            return {}
        except BatchFailures as failed:
            return dict(failed.failures)
        except Exception as exc:
            if len(deliveries) == 1 or self._is_outage(exc):
                return {d.message_id: exc for d in deliveries}
            log.warning("batch failed, retrying one by one", extra={"error": repr(exc)})
        # Isolate the entry that fails so the rest of the batch goes through.
        failures: dict[str, BaseException] = {}
        for delivery in deliveries:
            failures |= await self._attempt([delivery])
        return failures

    async def _keep_claimed(self, message_ids: Sequence[str]) -> None:
        """Reset the entries' idle time so no reclaim takes them (and counts a failure)."""
        with contextlib.suppress(*TRANSIENT):
            await self.redis.xclaim(
                self.stream, self.group, self.settings.consumer_name, 0, list(message_ids),
                justid=True,
            )  # fmt: skip

    async def _record_failure(self, delivery: Delivery[M], exc: BaseException) -> None:
        log.exception(
            "processing failed; entry stays pending for a retry",
            extra={
                "stream": self.stream,
                "message_id": delivery.message_id,
                "article_id": getattr(delivery.item, "id", None),
            },
            exc_info=exc,
        )
        with contextlib.suppress(*TRANSIENT):  # the entry stays pending either way
            key = self.keys.last_error(self.group, delivery.message_id)
            await self.redis.set(key, repr(exc)[:2000], ex=7 * 86400)

    async def dead_letter(self, message_id: str, fields: Any, error: str, deliveries: int) -> None:
        try:
            payload = payload_of(fields).decode("utf-8", "replace")
        except ValueError:
            payload = repr(fields)
        letter = DeadLetter(
            stream=self.stream,
            group=self.group,
            message_id=message_id,
            payload=payload,
            error=error,
            deliveries=deliveries,
            failed_at=datetime.now(UTC),
        )
        # One transaction on one server. A cluster cannot span the slots: in this order, a crash
        # can at worst leave the letter parked twice, never lost.
        async with self.redis.pipeline(transaction=not is_cluster(self.redis)) as pipe:
            pipe.xadd(self.settings.stream_dead, encode(letter))
            pipe.xack(self.stream, self.group, message_id)
            pipe.delete(
                self.keys.deliveries(self.group, message_id),
                self.keys.last_error(self.group, message_id),
            )
            await pipe.execute()
        DEAD_LETTERED.inc()
        log.error(
            "dead-lettered",
            extra={"stream": self.stream, "message_id": message_id, "error": error[:500]},
        )
