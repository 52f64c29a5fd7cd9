"""Article ids that sort by ingest time (ULIDs).

The earlier-ingested article wins a duplicate decision, and several ingest processes or stream
partitions have no shared order; an id whose first 48 bits are the ingest millisecond gives every
service the same order from the id alone.
"""

from __future__ import annotations

import base64
import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32
# Converting through the standard library's base-32 codecs: the dedupe index turns tens of
# thousands of ids a second to and from bytes, and a loop over characters was a visible share
# of its CPU time.
_FROM_RFC4648 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())
_TO_INT_DIGITS = str.maketrans(
    {chr(c): "!" for c in range(128)}  # "!": no digit, so int() refuses the id
    | dict(zip(_ALPHABET, "0123456789abcdefghijklmnopqrstuv", strict=True))
)
_lock = threading.Lock()
_last_ms = 0
_last_rand = 0


def _encode(value: int, length: int) -> str:
    """The low ``length`` base-32 digits of ``value``."""
    bits = length * 5
    size = (bits + 7) // 8
    data = ((value & ((1 << bits) - 1)) << (size * 8 - bits)).to_bytes(size, "big")
    return base64.b32encode(data)[:length].translate(_FROM_RFC4648).decode()


def _decode(text: str) -> int:
    if not text.isascii():
        raise ValueError(f"not a ULID: {text!r}")
    return int(text.upper().translate(_TO_INT_DIGITS), 32)


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


def id_at(ms: int, sequence: int) -> str:
    """The ULID of a given time and sequence number: an article as if ingested then (a replayed
    or simulated stream), outside this process's monotonic order."""
    return _encode(ms, 10) + _encode(sequence, 16)


def id_time_ms(article_id: str) -> int:
    """The millisecond timestamp a ULID was made at."""
    return _decode(article_id[:10])


def id_to_bytes(article_id: str) -> bytes:
    """The 16-byte binary form of a ULID: compact index entries that still sort by ingest time."""
    return _decode(article_id).to_bytes(16, "big")


# Every pair of digits, for ``id_from_bytes``: a bucket look-up turns each candidate it finds back
# into an id, and the standard library's base-32 encoder loops in Python over 5-byte groups.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_PAIR_SHIFTS = range(120, -1, -10)


def id_from_bytes(data: bytes) -> str:
    """The ULID of a 16-byte form: 26 digits, two at a time (13 × 10 bits)."""
    value = int.from_bytes(data, "big")
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _PAIR_SHIFTS])
