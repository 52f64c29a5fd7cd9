"""A multimap from 64-bit band keys to entry slots, compact enough for millions of entries.

LSH files every entry under one key per band; a look-up asks which slots share any of an
article's keys. Most keys hold one slot, so a dict of lists would spend ~100 bytes per key on
objects. Here the keys live in sorted numpy arrays beside their slots (12 bytes a key), found by
binary search; keys added since the last merge wait in a small dict, merged into the arrays
once there are ``merge_at`` of them, by one linear pass (``np.searchsorted`` + ``np.insert``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from services.dedupe import kernels

Keys = npt.NDArray[np.uint64]
Slots = npt.NDArray[np.int32]


class BandIndex:
    def __init__(self, merge_at: int = 1 << 18) -> None:
        self.merge_at = merge_at
        self._keys: Keys = np.empty(0, dtype=np.uint64)
        self._slots: Slots = np.empty(0, dtype=np.int32)
        self._recent: dict[int, int | list[int]] = {}  # a key's one slot, or its slots
        self._waiting = 0

    def __len__(self) -> int:
        return len(self._keys) + self._waiting

    def add(self, slot: int, keys: Iterable[int]) -> None:
        recent = self._recent
        added = 0
        for key in keys:
            found = recent.get(key)
            if found is None:
                recent[key] = slot
            elif isinstance(found, int):
                recent[key] = [found, slot]
            else:
                found.append(slot)
            added += 1
        self._waiting += added
        if self._waiting >= self.merge_at:
            self.merge()

    def find(self, keys: Keys) -> set[int]:
        """Every slot filed under any of ``keys``."""
        found: set[int] = set()
        if len(self._keys):
            low = np.searchsorted(self._keys, keys, side="left")
            high = np.searchsorted(self._keys, keys, side="right")
            hit = np.flatnonzero(high > low)
            for n in hit.tolist():
                found.update(self._slots[low[n] : high[n]].tolist())
        if self._recent:
            recent = self._recent
            for key in keys.tolist():
                more = recent.get(key)
                if isinstance(more, int):
                    found.add(more)
                elif more is not None:
                    found.update(more)
        return found

    def merge(self) -> None:
        if not self._recent:
            return
        count = self._waiting
        keys = np.empty(count, dtype=np.uint64)
        slots = np.empty(count, dtype=np.int32)
        at = 0
        for key, held in self._recent.items():
            if isinstance(held, int):
                keys[at], slots[at] = key, held
                at += 1
                continue
            keys[at : at + len(held)] = key
            slots[at : at + len(held)] = held
            at += len(held)
        order = np.argsort(keys, kind="stable")
        keys, slots = keys[order], slots[order]
        positions = np.searchsorted(self._keys, keys, side="right")
        self._keys = np.insert(self._keys, positions, keys)
        self._slots = np.insert(self._slots, positions, slots)
        self._recent = {}
        self._waiting = 0

    def nbytes(self) -> int:
        """Memory held, the waiting dict estimated at 100 bytes a key."""
        return int(self._keys.nbytes + self._slots.nbytes) + 100 * self._waiting

    def state(self) -> tuple[Keys, Slots]:
        self.merge()
        return self._keys, self._slots

    @classmethod
    def restored(cls, keys: Keys, slots: Slots, merge_at: int = 1 << 18) -> BandIndex:
        index = cls(merge_at)
        index._keys, index._slots = keys, slots
        return index


def band_keys(signature: npt.NDArray[np.uint32], bands: int, rows: int) -> Keys:
    """One 64-bit key per band, from the band's number and rows (``kernels.band_keys``): two
    articles share a band's key when its rows are equal (and, with odds of 2**-64 per pair, by
    collision)."""
    return kernels.band_keys(signature, bands, rows)
