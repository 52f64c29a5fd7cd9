"""The naive stack's consumer, the baseline of the end-to-end benchmark: what a user writes in an
afternoon. One FastStream batch consumer reads the stream the bare ingest (``bare_ingest``)
writes, keeps a datasketch ``MinHashLSH`` (threshold 0.5) over each article's word 3-grams in
memory, and writes each article with its verdict to SQLite.

No ordering guarantee across restarts, no journal, no stories, no boilerplate: it is the floor
of the work, not a competitor in what it does. Run as its own process:
``python -m benchmarks.naive_stack`` with ``REDIS_URL``, ``BARE_STREAM`` and ``NAIVE_DB`` set.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
from typing import Any

from datasketch import MinHash, MinHashLSH
from faststream import AckPolicy, FastStream
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.annotations import RedisBatchStreamMessage

NUM_PERM = 128
_WORD = re.compile(r"\w+")

broker = RedisBroker(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
app = FastStream(broker)
lsh = MinHashLSH(threshold=0.5, num_perm=NUM_PERM)
database = sqlite3.connect(os.environ.get("NAIVE_DB", ":memory:"), check_same_thread=False)
database.execute(
    "CREATE TABLE IF NOT EXISTS articles (id INTEGER PRIMARY KEY, text TEXT, duplicate_of INTEGER)"
)
counter = iter(range(1, 1 << 62))


def verdict(text: str) -> tuple[int, str, int | None]:
    words = _WORD.findall(text.lower())
    minhash = MinHash(num_perm=NUM_PERM)
    minhash.update_batch([" ".join(words[n : n + 3]).encode() for n in range(len(words) - 2)])
    found = lsh.query(minhash)
    key = next(counter)
    if not found:
        lsh.insert(key, minhash)
    return key, text, min(found) if found else None


@broker.subscriber(
    stream=StreamSub(
        os.environ.get("BARE_STREAM", "bare"),
        group="naive",
        consumer="naive",
        batch=True,
        max_records=200,
        polling_interval=100,
    ),
    ack_policy=AckPolicy.ACK,
)
async def judge(body: Any, message: RedisBatchStreamMessage) -> None:
    entries: list[Any] = message.raw_message["data"]
    rows = [verdict(json.loads(fields.get(b"data") or fields["data"])["text"])
            for fields in entries]  # fmt: skip
    database.executemany("INSERT INTO articles VALUES (?, ?, ?)", rows)
    database.commit()


if __name__ == "__main__":
    asyncio.run(app.run())
