"""The two loops over every article's shingles, compiled (numba).

In numpy, a MinHash signature is three passes over an items × permutations array (multiply, add,
minimum) and a shingle hash several passes over the text and tables of powers: each pass reads
and writes memory, so they took 46 and 27 µs of an article's 195. Compiled, each is one loop that
keeps its running values in registers. numba compiles each for its one signature when this
module is imported, not on first use (which would make some article wait a second), and caches
the machine code beside this file (or in the user's cache directory where this one is
read-only): after the first process on a machine, importing loads the cached code.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit, types

U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]

EMPTY = 0xFFFFFFFF  # datasketch's value of a permutation no shingle reached


@njit("void(uint32[::1], uint32[::1], uint32[::1], uint32[::1])", cache=True, nogil=True)
def _min_affine(hashes: U32, a: U32, b: U32, out: U32) -> None:  # pragma: no cover - compiled
    for i in range(out.shape[0]):
        out[i] = EMPTY
    for j in range(hashes.shape[0]):
        # MurmurHash3's 32-bit finaliser, which datasketch's affine32 scheme applies first.
        x = np.uint32(hashes[j])
        x ^= x >> np.uint32(16)
        x = np.uint32(x * np.uint32(0x85EBCA6B))
        x ^= x >> np.uint32(13)
        x = np.uint32(x * np.uint32(0xC2B2AE35))
        x ^= x >> np.uint32(16)
        for i in range(out.shape[0]):
            value = np.uint32(a[i] * x + b[i])
            if value < out[i]:
                out[i] = value


def min_affine(hashes: U32, a: U32, b: U32) -> U32:
    """datasketch's ``affine32`` MinHash of items with these 32-bit hashes: per permutation
    (a, b), the least ``a * fmix32(hash) + b`` mod 2**32 (uint32 arithmetic wraps)."""
    out = np.empty(len(a), dtype=np.uint32)
    _min_affine(np.ascontiguousarray(hashes), a, b, out)
    return out


# BASE is odd, so it has an inverse mod 2**64.
BASE = 0x9E3779B97F4A7C15
_BASE = np.uint64(BASE)
_INVERSE = np.uint64(pow(BASE, -1, 1 << 64))


_BYTES = types.Array(types.uint8, 1, "C", readonly=True)  # np.frombuffer of a bytes object


@njit(
    types.void(_BYTES, types.int64[::1], types.int64[::1], types.uint32[::1]),
    cache=True,
    nogil=True,
)
def _window_hashes(data: U8, first: I64, last: I64, out: U32) -> None:  # pragma: no cover
    # prefix[k] = sum(data[j] * BASE**j for j < k), and down[k] = BASE**-k, mod 2**64: a
    # window's polynomial is its prefix difference shifted back to start at power 0.
    n = data.shape[0]
    prefix = np.empty(n + 1, dtype=np.uint64)
    down = np.empty(n + 1, dtype=np.uint64)
    total = np.uint64(0)
    up = np.uint64(1)
    back = np.uint64(1)
    for k in range(n):
        prefix[k] = total
        down[k] = back
        total += np.uint64(data[k]) * up
        up *= _BASE
        back *= _INVERSE
    prefix[n] = total
    down[n] = back
    for w in range(out.shape[0]):
        s, e = first[w], last[w]
        value = ((prefix[e] - prefix[s]) * down[s]) ^ np.uint64(e - s)
        # MurmurHash3's 64-bit finaliser: every input bit reaches the top half that is kept.
        value ^= value >> np.uint64(33)
        value *= np.uint64(0xFF51AFD7ED558CCD)
        value ^= value >> np.uint64(33)
        value *= np.uint64(0xC4CEB9FE1A85EC53)
        value ^= value >> np.uint64(33)
        out[w] = np.uint32(value >> np.uint64(32))


def window_hashes(data: U8, first: I64, last: I64) -> U32:
    """For each window ``data[first[w]:last[w]]``, the top 32 bits of
    ``fmix64(poly(window) ^ len(window))``, where ``poly(b) = sum(b[j] * BASE**j) mod 2**64``."""
    out = np.empty(len(first), dtype=np.uint32)
    _window_hashes(data, np.ascontiguousarray(first), np.ascontiguousarray(last), out)
    return out


U64 = npt.NDArray[np.uint64]
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit("void(uint32[::1], int64, uint64[::1])", cache=True, nogil=True)
def _band_keys(signature: U32, rows: int, out: U64) -> None:  # pragma: no cover - compiled
    for band in range(out.shape[0]):
        x = np.uint64(band + 1) * _GOLDEN
        for r in range(rows):
            x ^= np.uint64(signature[band * rows + r])
            x ^= x >> np.uint64(33)
            x *= np.uint64(0xFF51AFD7ED558CCD)
            x ^= x >> np.uint64(33)
            x *= np.uint64(0xC4CEB9FE1A85EC53)
            x ^= x >> np.uint64(33)
        out[band] = x


def band_keys(signature: U32, bands: int, rows: int) -> U64:
    """One 64-bit key per LSH band: the band's number and rows, each mixed in by MurmurHash3's
    64-bit finaliser."""
    out = np.empty(bands, dtype=np.uint64)
    _band_keys(np.ascontiguousarray(signature, dtype=np.uint32), rows, out)
    return out


U16 = npt.NDArray[np.uint16]
_POLY = np.uint64(0x100000001B3)


@njit(cache=True, nogil=True, inline="always")
def _fmix64(x: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xC4CEB9FE1A85EC53)
    x ^= x >> np.uint64(33)
    return x


@njit(cache=True, nogil=True, inline="always")
def _gram(words: U16, at: int, size: int) -> np.uint64:  # pragma: no cover - compiled
    h = np.uint64(words[at])
    for k in range(1, size):
        h = h * _POLY + np.uint64(words[at + k])
    return _fmix64(h ^ np.uint64(size))


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


class Windows:
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


def distinct_windows(words: U16, size: int) -> tuple[int, int]:
    """How many distinct shingles of ``size`` words and word pairs ``words`` has."""
    windows = Windows(words, size)
    return windows.shingle_count, windows.pair_count
