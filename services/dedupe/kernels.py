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
