"""An article's distinct word windows in an open-addressing table, compiled (numba): the exact
shingles and word pairs one article has in common with each of its candidates, counted without
making a set per comparison.

A window is the ``size`` 16-bit word hashes side by side, polynomially hashed and mixed
(``fmix64``); the article's windows are filed once per look-up, and each candidate's words are
run against the table.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from services.dedupe.text.hashing import fmix64

U16 = npt.NDArray[np.uint16]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

_POLY = np.uint64(0x100000001B3)


@njit(cache=True, nogil=True, inline="always")
def _gram(words: U16, at: int, size: int) -> np.uint64:  # pragma: no cover - compiled
    h = np.uint64(words[at])
    for k in range(1, size):
        h = h * _POLY + np.uint64(words[at + k])
    return fmix64(h ^ np.uint64(size))


@njit(cache=True, nogil=True)
def _table(
    words: U16, size: int, table: U64, used: npt.NDArray[np.bool_]
) -> int:  # pragma: no cover
    """Files the distinct ``size``-word windows of ``words`` in an open-addressing table (its
    length a power of two, at least twice the windows); how many distinct there are."""
    n = words.shape[0]
    if n == 0:
        return 0
    size = min(size, n)
    mask = np.uint64(table.shape[0] - 1)
    distinct = 0
    for at in range(n - size + 1):
        h = _gram(words, at, size)
        slot = h & mask
        while used[slot] and table[slot] != h:
            slot = (slot + np.uint64(1)) & mask
        if not used[slot]:
            used[slot] = True
            table[slot] = h
            distinct += 1
    return distinct


@njit(cache=True, nogil=True)
def _common(
    table: U64, used: npt.NDArray[np.bool_], seen: I64, stamp: int, words: U16, size: int
) -> int:  # pragma: no cover - compiled
    """How many distinct ``size``-word windows of ``words`` the table holds (``seen`` marks the
    table's slots found under ``stamp``, so that a window twice in ``words`` counts once)."""
    n = words.shape[0]
    if n == 0:
        return 0
    size = min(size, n)
    mask = np.uint64(table.shape[0] - 1)
    common = 0
    for at in range(n - size + 1):
        h = _gram(words, at, size)
        slot = h & mask
        while used[slot]:
            if table[slot] == h:
                if seen[slot] != stamp:
                    seen[slot] = stamp
                    common += 1
                break
            slot = (slot + np.uint64(1)) & mask
    return common


@njit(cache=True, nogil=True)
def _common_many(
    table: U64,
    used: npt.NDArray[np.bool_],
    seen: I64,
    stamp: int,
    size: int,
    words: U16,
    starts: I64,
    ends: I64,
    out: I64,
) -> int:  # pragma: no cover - compiled
    """``_common`` of each text ``words[starts[c]:ends[c]]``, into ``out[c]``; the next stamp."""
    for c in range(starts.shape[0]):
        out[c] = _common(table, used, seen, stamp, words[starts[c] : ends[c]], size)
        stamp += 1
    return stamp


class OverlapTable:
    """An article's distinct word windows (shingles of ``size`` words, and word pairs), filed
    once for every comparison of one look-up."""

    def __init__(self, words: U16, size: int) -> None:
        self.size = size
        room = 1 << max(4, int(2 * max(len(words), 1) - 1).bit_length())
        self.shingles, self.shingles_used = np.empty(room, np.uint64), np.zeros(room, np.bool_)
        self.pairs, self.pairs_used = np.empty(room, np.uint64), np.zeros(room, np.bool_)
        words = np.ascontiguousarray(words, dtype=np.uint16)
        self.shingle_count = _table(words, size, self.shingles, self.shingles_used)
        self.pair_count = _table(words, 2, self.pairs, self.pairs_used)
        self._seen = np.zeros(room, np.int64)
        self._pair_seen = np.zeros(room, np.int64)
        self._stamp = 0

    def common(self, words: U16, starts: I64, ends: I64) -> tuple[I64, I64]:
        """For each text ``words[starts[c]:ends[c]]``: the distinct shingles and word pairs it
        has in common with these."""
        shingles = np.empty(len(starts), np.int64)
        pairs = np.empty(len(starts), np.int64)
        stamp = self._stamp + 1
        _common_many(self.shingles, self.shingles_used, self._seen, stamp, self.size,
                     words, starts, ends, shingles)  # fmt: skip
        self._stamp = _common_many(self.pairs, self.pairs_used, self._pair_seen, stamp, 2,
                                   words, starts, ends, pairs)  # fmt: skip
        return shingles, pairs
