"""The hashes of the text work, compiled (numba): shingle hashes, MinHash values, band keys
and the mixing they share.

In numpy, a MinHash signature is three passes over an items × permutations array (multiply, add,
minimum) and a shingle hash several passes over the text and tables of powers, each pass reading
and writing memory. Compiled, each is one loop that keeps its running values in registers.

numba compiles each for its one signature when this module is imported, not on first use
(which would make some article wait a second), and caches the machine code beside this file (or
in the user's cache directory where this one is read-only): after the first process on a
machine, importing loads the cached code.
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


# The golden ratio's 64-bit fraction: odd (so it has an inverse mod 2**64), its bits spread.
GOLDEN = 0x9E3779B97F4A7C15
_BASE = np.uint64(GOLDEN)
_INVERSE = np.uint64(pow(GOLDEN, -1, 1 << 64))
U64 = npt.NDArray[np.uint64]


MURMUR_SECOND = 0xC4CEB9FE1A85EC53  # MurmurHash3's second multiplier


@njit(cache=True, nogil=True, inline="always")
def mix64(x: np.uint64, second: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """MurmurHash3's 64-bit finaliser with ``second`` as its second multiplier (any odd number
    keeps it a bijection): every input bit moves every output bit."""
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(33)
    x *= second
    x ^= x >> np.uint64(33)
    return x


@njit(cache=True, nogil=True, inline="always")
def fmix64(x: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """MurmurHash3's 64-bit finaliser."""
    return mix64(x, np.uint64(MURMUR_SECOND))


@njit("void(uint64[::1], uint64, uint64[::1])", cache=True, nogil=True)
def _mix64_all(values: U64, second: np.uint64, out: U64) -> None:  # pragma: no cover - compiled
    for i in range(values.shape[0]):
        out[i] = mix64(values[i], second)


def mixed(values: U64, second: int = MURMUR_SECOND) -> U64:
    """``mix64`` of each value."""
    out = np.empty(len(values), dtype=np.uint64)
    _mix64_all(np.ascontiguousarray(values, dtype=np.uint64), np.uint64(second), out)
    return out


_BYTES = types.Array(types.uint8, 1, "C", readonly=True)  # np.frombuffer of a bytes object


@njit(
    types.void(_BYTES, types.int64[::1], types.int64[::1], types.uint32[::1]),
    cache=True,
    nogil=True,
)
def _window_hashes(data: U8, first: I64, last: I64, out: U32) -> None:  # pragma: no cover
    # prefix[k] = sum(data[j] * GOLDEN**j for j < k), and down[k] = BASE**-k, mod 2**64: a
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
        # Mixed, every input bit reaches the top half that is kept.
        out[w] = np.uint32(fmix64(value) >> np.uint64(32))


def window_hashes(data: U8, first: I64, last: I64) -> U32:
    """For each window ``data[first[w]:last[w]]``, the top 32 bits of
    ``fmix64(poly(window) ^ len(window))``, where ``poly(b) = sum(b[j] * GOLDEN**j) mod 2**64``."""
    out = np.empty(len(first), dtype=np.uint32)
    _window_hashes(data, np.ascontiguousarray(first), np.ascontiguousarray(last), out)
    return out


@njit("void(uint32[::1], int64, uint64[::1])", cache=True, nogil=True)
def _band_keys(signature: U32, rows: int, out: U64) -> None:  # pragma: no cover - compiled
    for band in range(out.shape[0]):
        x = np.uint64(band + 1) * _BASE
        for r in range(rows):
            x = fmix64(x ^ np.uint64(signature[band * rows + r]))
        out[band] = x


def band_keys(signature: U32, bands: int, rows: int) -> U64:
    """One 64-bit key per LSH band: the band's number and rows, each mixed in by ``fmix64``."""
    out = np.empty(bands, dtype=np.uint64)
    _band_keys(np.ascontiguousarray(signature, dtype=np.uint32), rows, out)
    return out
