"""``newsdedup tail``: a stream's entries as JSON lines, for piping into jq.

Without a group it reads like ``tail -f`` (from now, or from the start); with ``--group`` it
reads through that consumer group, so a restart resumes where the last run acked. A new group
begins after the entries already there, unless from the start. With a count from the start it
ends with the stream: it prints what there is, at most the count.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import ResponseError

from shared.streams import payload_of

BLOCK_MS = 1000


def _ensure_group(client: redis.Redis, stream: str, group: str, from_start: bool) -> None:
    try:
        client.xgroup_create(stream, group, id="0" if from_start else "$", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def tail(
    client: redis.Redis,
    stream: str,
    write: Callable[[str], None],
    *,
    from_start: bool = False,
    group: str | None = None,
    count: int | None = None,
    waiting: Callable[[], None] = lambda: None,
) -> int:
    """Write each entry's JSON as one line until ``count`` entries (forever without one), or,
    from the start with a count, until the stream has no more; how many it wrote. ``waiting``
    is called once, the first time it waits for new entries."""
    consumer = f"tail-{socket.gethostname()}"
    if group:
        _ensure_group(client, stream, group, from_start)
    last = "0" if from_start else "$"
    pending_first = "0"  # in a group: what an earlier run read but did not ack, then new entries
    written = 0
    said = False
    while count is None or written < count:
        batch = 100 if count is None else min(100, count - written)  # never take more than shown
        reply: Any
        if group:
            reply = client.xreadgroup(
                group, consumer, {stream: pending_first or ">"}, count=batch, block=BLOCK_MS
            )
            if pending_first and not any(entries for _, entries in reply or []):
                pending_first = ""
                continue
        else:
            reply = client.xread({stream: last}, count=batch, block=BLOCK_MS)
        if not any(entries for _, entries in reply or []):
            if from_start and count is not None:
                return written
            if not said:
                waiting()
                said = True
        for _, entries in reply or []:
            for entry_id, fields in entries:
                write(payload_of(fields).decode())
                written += 1
                last = entry_id
                if group:
                    client.xack(stream, group, entry_id)
                if count is not None and written >= count:
                    return written
    return written
