"""Word shingles: overlapping k-word windows, the unit of text overlap MinHash estimates.

The engine never makes a shingle's bytes: it hashes every window of the joined words at once
from prefix sums of a polynomial hash (``shingle_hashes``). ``shingles`` gives the windows
themselves, for the exact Jaccard the accuracy benchmark measures against.
"""

from __future__ import annotations

from itertools import accumulate

import numpy as np
import numpy.typing as npt

from services.dedupe.text.hashing import window_hashes
from services.dedupe.text.normalize import JoinedWords

# Recorded with the index's parameters: signatures from another shingle hash are not comparable.
SHINGLE_HASH = "poly64-fmix64"
Hashes = npt.NDArray[np.uint32]


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


def shingle_hashes(joined: JoinedWords, size: int) -> Hashes:
    """The distinct 32-bit hashes of ``shingles(words, size)``, sorted.

    A window's hash is the top half of ``fmix64(poly(window) ^ len(window))``, ``poly`` being
    the polynomial hash of its bytes (``hashing.window_hashes``): the same value however the
    window was found.
    """
    count = len(joined)
    if count == 0:
        return np.empty(0, dtype=np.uint32)
    windows = max(1, count - size + 1)
    first = joined.starts[:windows]
    last = joined.ends[min(size, count) - 1 :]
    data = np.frombuffer(joined.data, dtype=np.uint8)
    hashes = np.sort(window_hashes(data, first, last))
    # np.unique does the same, at many times the cost on arrays this small.
    distinct = np.empty(len(hashes), dtype=bool)
    distinct[0] = True
    np.not_equal(hashes[1:], hashes[:-1], out=distinct[1:])
    return hashes[distinct]
