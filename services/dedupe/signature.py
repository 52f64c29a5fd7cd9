"""MinHash signatures and LSH banding, datasketch's scheme, with a fast shingle hash.

datasketch hashes shingles with SHA-1 by default; our shingle hash (``shingles``), and xxh32 for
other items, give the same 32-bit range at a fraction of the cost. Permutations are drawn once per
process, not once per article. Signatures are datasketch's ``affine32`` MinHash values, computed
here in blocks written into one reused array (``MinHash.update_batch`` allocates its
items × permutations arrays anew for every article);
they are stored as datasketch ``LeanMinHash`` bytes: seed and hash values only, 528 bytes at 128
permutations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import xxhash
from datasketch import LeanMinHash, MinHash
from datasketch.lsh import _optimal_param

Signature = npt.NDArray[np.uint32]
SCHEME = "affine32"  # datasketch's 2.0 default: uint32 values, collision-free permutations


@dataclass(frozen=True)
class SignatureParams:
    num_perm: int
    seed: int
    shingle_size: int
    candidate_threshold: float

    @property
    def bands_rows(self) -> tuple[int, int]:
        """Bands × rows minimising false positives + false negatives at the candidate threshold."""
        bands, rows = _optimal_param(self.candidate_threshold, self.num_perm, 0.5, 0.5)
        return int(bands), int(rows)


# xxhash's own function, no Python wrapper: it is called once per shingle.
_xxh32 = xxhash.xxh32_intdigest
EMPTY = 0xFFFFFFFF  # datasketch's value of a permutation no shingle reached
BLOCK = 2048  # shingles per block: 1 MB of work array at 128 permutations


def _fmix32(values: Signature) -> Signature:
    """MurmurHash3's finaliser, which datasketch's affine32 scheme applies to each shingle hash
    before its permutations (uint32 arithmetic wraps around, as intended)."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


class Signer:
    """One per event loop: ``sign`` writes into the signer's own work array, so two threads must
    not share a signer (a process's coroutines may: ``sign`` never awaits)."""

    def __init__(self, params: SignatureParams) -> None:
        self.params = params
        template = MinHash(
            num_perm=params.num_perm, seed=params.seed, hashfunc=_xxh32, scheme=SCHEME
        )
        a, b = template.permutations
        self._a = np.asarray(a, dtype=np.uint32)
        self._b = np.asarray(b, dtype=np.uint32)
        self._work = np.empty(BLOCK * params.num_perm, dtype=np.uint32)
        self.bands, self.rows = params.bands_rows

    def sign(self, items: list[bytes]) -> Signature:
        """What ``MinHash(..., hashfunc=xxh32, scheme="affine32").update_batch(items)`` gives,
        bit for bit."""
        return self.sign_hashes(np.fromiter(map(_xxh32, items), np.uint32, len(items)))

    def sign_hashes(self, hashes: Signature) -> Signature:
        """The signature of items whose 32-bit hashes (datasketch's ``hashfunc`` values) these
        are."""
        values = np.full(self.params.num_perm, EMPTY, dtype=np.uint32)
        mixed = _fmix32(hashes)
        for start in range(0, len(mixed), BLOCK):
            block = mixed[start : start + BLOCK]
            # Permutations × items, each permutation's row contiguous: its minimum is one pass.
            work = self._work[: self.params.num_perm * len(block)].reshape(-1, len(block))
            np.multiply(self._a[:, None], block, out=work)
            np.add(work, self._b[:, None], out=work)
            np.minimum(values, work.min(axis=1), out=values)
        return values

    def band_keys(self, signature: Signature) -> list[bytes]:
        """One 8-byte bucket id per band: articles sharing a bucket are LSH candidates."""
        rows = self.rows
        return [
            xxhash.xxh3_64_digest(signature[i * rows : (i + 1) * rows].tobytes())
            for i in range(self.bands)
        ]


def jaccard(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the two shingle sets behind the signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


def containment(jaccard: float, size_a: int, size_b: int) -> float:
    """Estimated |A∩B| / min(|A|, |B|): how much of the shorter text the longer one contains.

    A teaser is contained in its full article and a wire story in a local outlet's extended copy,
    though their Jaccard is low. Taking the shorter set makes the measure symmetric, so the two
    articles of a pair, judged on different replicas, agree on it.
    """
    smaller = min(size_a, size_b)
    if smaller <= 0:
        return 0.0
    intersection = jaccard * (size_a + size_b) / (1.0 + jaccard)
    return min(1.0, intersection / smaller)


def to_bytes(signature: Signature, seed: int) -> bytes:
    lean = LeanMinHash(seed=seed, hashvalues=signature, scheme=SCHEME)
    buffer = bytearray(lean.bytesize())
    lean.serialize(buffer)
    return bytes(buffer)


def from_bytes(data: bytes) -> Signature:
    return np.asarray(LeanMinHash.deserialize(data).hashvalues, dtype=np.uint32)
