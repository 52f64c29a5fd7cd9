"""Article ids that sort by ingest time (ULIDs).

The earlier-ingested article wins a duplicate decision, and several ingest processes or stream
partitions have no shared order; an id whose first 48 bits are the ingest millisecond gives every
service the same order from the id alone.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last_ms = 0
_last_rand = 0


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(now_ms: int | None = None) -> str:
    """A 26-character ULID; monotonic within this process even inside one millisecond."""
    global _last_ms, _last_rand
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    with _lock:
        if ms <= _last_ms:
            ms = _last_ms
            rand = _last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # headroom for increments
        _last_ms, _last_rand = ms, rand
    return _encode(ms, 10) + _encode(rand, 16)


def id_time_ms(article_id: str) -> int:
    """The millisecond timestamp a ULID was made at."""
    value = 0
    for char in article_id[:10]:
        value = value * 32 + _ALPHABET.index(char)
    return value


def id_to_bytes(article_id: str) -> bytes:
    """The 16-byte binary form of a ULID: compact index entries that still sort by ingest time."""
    value = 0
    for char in article_id.upper():
        value = value * 32 + _ALPHABET.index(char)
    return value.to_bytes(16, "big")


def id_from_bytes(data: bytes) -> str:
    return _encode(int.from_bytes(data, "big"), 26)
