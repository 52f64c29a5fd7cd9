"""MinHash signatures and LSH banding, datasketch's scheme, with a fast shingle hash.

datasketch hashes shingles with SHA-1 by default; our shingle hash (``shingles``), and xxh32 for
other items, give the same 32-bit range at a fraction of the cost. Permutations are drawn once per
process, not once per article. Signatures are datasketch's ``affine32`` MinHash values, computed
by one compiled loop (``hashing.min_affine``), where ``MinHash.update_batch`` allocates and
passes over items × permutations arrays for every article. Banding is ``bands.band_keys``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import xxhash
from datasketch import MinHash, MinHashLSH

from services.dedupe.text.hashing import min_affine
from shared.settings import Settings

Signature = npt.NDArray[np.uint32]
SCHEME = "affine32"  # datasketch's 2.0 default: uint32 values, collision-free permutations


@dataclass(frozen=True)
class SignatureParams:
    num_perm: int
    seed: int
    shingle_size: int
    candidate_threshold: float

    @cached_property
    def bands_rows(self) -> tuple[int, int]:
        """Bands × rows minimising false positives + false negatives at the candidate threshold
        (datasketch's choice for an LSH index at that threshold)."""
        lsh = MinHashLSH(self.candidate_threshold, self.num_perm, weights=(0.5, 0.5))
        return lsh.b, lsh.r


# xxhash's own function, no Python wrapper: it is called once per shingle.
_xxh32 = xxhash.xxh32_intdigest


class Signer:
    """Permutations drawn once: every article's signature uses the same."""

    def __init__(self, params: SignatureParams) -> None:
        self.params = params
        template = MinHash(
            num_perm=params.num_perm, seed=params.seed, hashfunc=_xxh32, scheme=SCHEME
        )
        a, b = template.permutations
        self._a = np.asarray(a, dtype=np.uint32)
        self._b = np.asarray(b, dtype=np.uint32)
        self.bands, self.rows = params.bands_rows

    def sign(self, items: list[bytes]) -> Signature:
        """What ``MinHash(..., hashfunc=xxh32, scheme="affine32").update_batch(items)`` gives,
        bit for bit."""
        return self.sign_hashes(np.fromiter(map(_xxh32, items), np.uint32, len(items)))

    def sign_hashes(self, hashes: Signature) -> Signature:
        """The signature of items whose 32-bit hashes (datasketch's ``hashfunc`` values) these
        are."""
        return min_affine(hashes, self._a, self._b)


def signer_for(settings: Settings) -> Signer:
    return Signer(
        SignatureParams(
            num_perm=settings.num_perm,
            seed=settings.seed,
            shingle_size=settings.shingle_size,
            candidate_threshold=settings.candidate_threshold,
        )
    )
