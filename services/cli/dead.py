"""``newsdedup dead``: what landed on the dead-letter stream, and sending it back.

A retry puts the original payload back on the stream it came from and removes the dead letter,
in one transaction: a crash in between leaves the letter, never neither. A retried entry reaches
every group on that stream again (verdicts are keyed by article id, so consumers take a repeat
as a no-op, as they must under at-least-once delivery anyway).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import redis

from shared.models import DeadLetter
from shared.redis import as_text, is_cluster
from shared.streams import DATA_FIELD, decode


@dataclass(frozen=True)
class Parked:
    entry_id: str
    letter: DeadLetter

    @property
    def article_id(self) -> str | None:
        """The article the payload carried, when it parses that far."""
        try:
            body = json.loads(self.letter.payload)
        except ValueError:
            return None
        article_id = body.get("id") if isinstance(body, dict) else None
        return str(article_id) if article_id is not None else None


def parked(client: redis.Redis, dead_stream: str) -> list[Parked]:
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(dead_stream))
    return [Parked(as_text(entry_id), decode(DeadLetter, fields)) for entry_id, fields in entries]


def retry(client: redis.Redis, dead_stream: str, entry_ids: Iterable[str]) -> list[Parked]:
    """Re-queue the named dead letters (all when none are named); return what was re-queued."""
    wanted = set(entry_ids)
    chosen = [p for p in parked(client, dead_stream) if not wanted or p.entry_id in wanted]
    missing = wanted - {p.entry_id for p in chosen}
    if missing:
        raise KeyError(f"no dead letter with id {', '.join(sorted(missing))}")
    for item in chosen:
        # Re-queued before it leaves the dead stream: a crash between (possible on a cluster,
        # where the two streams cannot share a transaction) leaves it in both, never in neither.
        with client.pipeline(transaction=not is_cluster(client)) as pipe:
            pipe.xadd(item.letter.stream, {DATA_FIELD: item.letter.payload.encode()})
            pipe.xdel(dead_stream, item.entry_id)
            pipe.execute()
    return chosen
