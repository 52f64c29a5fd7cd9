"""Word shingles: overlapping k-word windows, the unit of text overlap MinHash estimates.

The engine never makes a shingle's bytes: it hashes every window of the joined words at once
from prefix sums of a polynomial hash (``shingle_hashes``). ``shingles`` gives the windows
themselves, for the exact Jaccard the accuracy benchmark measures against.
"""

from __future__ import annotations

import hashlib
from itertools import accumulate

import numpy as np
import numpy.typing as npt

from services.dedupe.normalize import JoinedWords

# Recorded with the index's parameters: signatures from another shingle hash are not comparable.
SHINGLE_HASH = "poly64-fmix64"
Hashes = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]

# The polynomial hash of bytes b is sum(b[j] * BASE**j) mod 2**64. BASE is odd, so it has an
# inverse mod 2**64, and a window's hash is its prefix-sum difference shifted back to start 0.
BASE = 0x9E3779B97F4A7C15
_INVERSE = pow(BASE, -1, 1 << 64)
_M1, _M2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
_33, _32 = np.uint64(33), np.uint64(32)


def shingles(words: list[str], size: int) -> list[bytes]:
    """Distinct k-word windows; a text shorter than k words is one shingle of all its words.

    Each window is a slice of the words joined once, not a join of its own: an article has as
    many windows as words.
    """
    if not words:
        return []
    joined = " ".join(words)
    data = joined.encode()
    if len(words) <= size:
        return [data]
    lengths = map(len, words) if len(data) == len(joined) else (len(w.encode()) for w in words)
    # Where each word starts in ``data``: after every earlier word and its space.
    starts = list(accumulate(map((1).__add__, lengths), initial=0))
    windows = zip(starts, starts[size:], strict=False)
    return list(dict.fromkeys([data[a : b - 1] for a, b in windows]))


class _Powers:
    """BASE**j and BASE**-j mod 2**64 for j below ``length``: kept for texts up to KEEP bytes
    (16 MB of tables), grown by doubling; made for the call alone for a longer one, so that one
    huge article does not leave its tables in the process for good."""

    KEEP = 1 << 20

    def __init__(self) -> None:
        self.up = np.ones(1, dtype=np.uint64)
        self.down = np.ones(1, dtype=np.uint64)

    def upto(self, length: int) -> tuple[U64, U64]:
        if length > self.KEEP:
            return _table(BASE, length), _table(_INVERSE, length)
        while len(self.up) < length:
            grow = len(self.up)
            self.up = np.concatenate([self.up, self.up[-1] * _cumulative(BASE, grow)])
            self.down = np.concatenate([self.down, self.down[-1] * _cumulative(_INVERSE, grow)])
        return self.up[:length], self.down[:length]


def _cumulative(factor: int, count: int) -> U64:
    """factor**1 … factor**count mod 2**64 (unsigned array arithmetic wraps around)."""
    powers: U64 = np.cumprod(np.full(count, factor, dtype=np.uint64), dtype=np.uint64)
    return powers


def _table(factor: int, length: int) -> U64:
    return np.concatenate([np.ones(1, dtype=np.uint64), _cumulative(factor, length - 1)])


_POWERS = _Powers()


def _fmix64(values: U64) -> U64:
    """MurmurHash3's 64-bit finaliser: every input bit reaches the top 32 bits that are kept."""
    values = values ^ (values >> _33)
    values = values * _M1
    values = values ^ (values >> _33)
    values = values * _M2
    return values ^ (values >> _33)


def shingle_hashes(joined: JoinedWords, size: int) -> Hashes:
    """The distinct 32-bit hashes of ``shingles(words, size)``, sorted.

    A window's hash is the top half of ``fmix64(poly(window) ^ len(window))``, ``poly`` being
    the polynomial hash of its bytes: the same value however the window was found.
    """
    count = len(joined)
    if count == 0:
        return np.empty(0, dtype=np.uint32)
    windows = max(1, count - size + 1)
    first = joined.starts[:windows]
    last = joined.ends[min(size, count) - 1 :]
    data = np.frombuffer(joined.data, dtype=np.uint8)
    up, down = _POWERS.upto(len(data))
    prefix = np.zeros(len(data) + 1, dtype=np.uint64)
    np.cumsum(data * up, out=prefix[1:])
    poly = (prefix[last] - prefix[first]) * down[first]
    mixed = _fmix64(poly ^ (last - first).astype(np.uint64))
    hashes = np.sort((mixed >> _32).astype(np.uint32))
    # np.unique does the same, at many times the cost on arrays this small.
    distinct = np.empty(len(hashes), dtype=bool)
    distinct[0] = True
    np.not_equal(hashes[1:], hashes[:-1], out=distinct[1:])
    return hashes[distinct]


def content_hash(joined: bytes) -> str:
    """Same words in the same order, however typeset: the key of an exact duplicate."""
    return hashlib.sha256(joined).hexdigest()
