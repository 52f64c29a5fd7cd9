"""Counts of 64-bit keys (hashes of terms), compact enough for a stream's whole vocabulary.

A stream's vocabulary keeps growing (names, typos, numbers in words), and a ``Counter`` of
strings spends about a hundred bytes on each term it has seen. Here the counted keys live in
one sorted numpy array beside their counts (12 bytes a key), found by binary search; keys counted
since the last merge wait in a small dict until there are ``merge_at`` of them, then are merged
into the arrays in one pass over them (a copy, not a sort). The counts are exact: two terms
share a count only if their 64-bit hashes collide (odds of about 2**-64 per pair).
"""

from __future__ import annotations

from collections import Counter
from itertools import repeat

import numpy as np
import numpy.typing as npt

Keys = npt.NDArray[np.uint64]


class KeyCounts:
    def __init__(self, merge_at: int = 1 << 14) -> None:
        self.merge_at = merge_at
        self._keys: Keys = np.empty(0, dtype=np.uint64)  # sorted, each once
        self._counts = np.empty(0, dtype=np.uint32)
        self._recent: Counter[int] = Counter()

    def __len__(self) -> int:
        """How many different keys were counted."""
        self.merge()
        return len(self._keys)

    def add(self, keys: Keys) -> None:
        """One more count of each of ``keys``."""
        self._recent.update(keys.tolist())
        if len(self._recent) >= self.merge_at:
            self.merge()

    def get(self, keys: Keys) -> npt.NDArray[np.int64]:
        """The count of each of ``keys`` (0 for a key never counted)."""
        counts = np.zeros(len(keys), dtype=np.int64)
        if len(self._keys):
            at = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
            found = self._keys[at] == keys
            counts[found] = self._counts[at[found]]
        if self._recent:
            waiting = map(self._recent.get, keys.tolist(), repeat(0))
            counts += np.fromiter(waiting, np.int64, len(keys))
        return counts

    def merge(self) -> None:
        """Fold the waiting counts into the sorted arrays: the known keys' counts in place, the
        new keys inserted where they sort (one pass over the arrays, no sort of them)."""
        if not self._recent:
            return
        keys = np.fromiter(self._recent, np.uint64, len(self._recent))
        counts = np.fromiter(self._recent.values(), np.uint32, len(self._recent))
        self._recent = Counter()
        order = np.argsort(keys)
        keys, counts = keys[order], counts[order]
        at = np.searchsorted(self._keys, keys)
        known = at < len(self._keys)
        known[known] = self._keys[at[known]] == keys[known]
        self._counts[at[known]] += counts[known]
        new = ~known
        self._keys = np.insert(self._keys, at[new], keys[new])
        self._counts = np.insert(self._counts, at[new], counts[new])
