"""A multimap from 64-bit keys to entry slots, compact enough for millions of entries.

LSH files every entry under one key per band (the story index files each member under a key
per salient term); a look-up asks which slots share any of an article's keys, at most the
newest ``cap`` of each (``postings``). Most keys hold one slot, so a dict of lists would spend
~100 bytes per key on objects. Here the keys live in sorted numpy
arrays beside their slots (12 bytes a key), found by binary search; keys added since the last
merge wait in a small dict until there are ``merge_at`` of them, then become a sorted run of
their own, merged with the runs before it as in a log-structured merge tree.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from services.dedupe.text import hashing

BandKeys = npt.NDArray[np.uint64]
Slots = npt.NDArray[np.int32]


class BandIndex:
    def __init__(self, merge_at: int = 1 << 16) -> None:
        self.merge_at = merge_at
        # Sorted runs, each at most half the size of the one before: a key is merged again
        # only when the runs after its own add up to as many keys, so about log2(n / merge_at)
        # times in all, and a look-up searches that many runs.
        self._runs: list[tuple[BandKeys, Slots]] = []
        self._recent: dict[int, int | list[int]] = {}  # a key's one slot, or its slots
        self._waiting = 0

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self._runs) + self._waiting

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

    def postings(self, keys: BandKeys, cap: int) -> Slots:
        """The slots filed under ``keys``, a slot once for each key it shares; of a key filed
        more than ``cap`` times, only its ``cap`` newest slots (slots grow with filing order).
        A key that many entries share says little of any one of them: the newest are the
        likeliest to be copied again, and the bound keeps a look-up's work whatever the index
        holds."""
        room = np.full(len(keys), cap, dtype=np.int64)
        found: list[Slots] = []
        if self._recent:  # the newest, not yet in a run
            recent, waiting = self._recent, []
            for n, key in enumerate(keys.tolist()):
                held = recent.get(key)
                if held is None:
                    continue
                taken = [held] if isinstance(held, int) else held[-cap:]
                waiting += taken
                room[n] -= len(taken)
            found.append(np.asarray(waiting, dtype=np.int32))
        for run_keys, run_slots in reversed(self._runs):  # newer runs first
            high = np.searchsorted(run_keys, keys, side="right")
            low = np.maximum(np.searchsorted(run_keys, keys, side="left"), high - room)
            lengths = high - low
            total = int(lengths.sum())
            if total:
                starts = np.repeat(low - np.cumsum(lengths) + lengths, lengths)
                found.append(run_slots[starts + np.arange(total)])
                room -= lengths
        return np.concatenate(found) if found else np.empty(0, dtype=np.int32)

    def merge(self) -> None:
        """Turn the waiting keys into a sorted run, and merge the runs it outgrows into it."""
        if not self._recent:
            return
        keys = np.empty(self._waiting, dtype=np.uint64)
        slots = np.empty(self._waiting, dtype=np.int32)
        at = 0
        for key, held in self._recent.items():
            if isinstance(held, int):
                keys[at], slots[at] = key, held
                at += 1
                continue
            keys[at : at + len(held)] = key
            slots[at : at + len(held)] = held
            at += len(held)
        self._recent = {}
        self._waiting = 0
        while self._runs and len(self._runs[-1][0]) <= 2 * len(keys):
            older_keys, older_slots = self._runs.pop()
            keys = np.concatenate([older_keys, keys])
            slots = np.concatenate([older_slots, slots])
        order = np.argsort(keys, kind="stable")
        self._runs.append((keys[order], slots[order]))

    def nbytes(self) -> int:
        """Memory held, the waiting dict estimated at 100 bytes a key."""
        held = sum(int(keys.nbytes + slots.nbytes) for keys, slots in self._runs)
        return held + 100 * self._waiting


def band_keys(signature: npt.NDArray[np.uint32], bands: int, rows: int) -> BandKeys:
    """One 64-bit key per band, from the band's number and rows (``hashing.band_keys``): two
    articles share a band's key when its rows are equal (and, with odds of 2**-64 per pair, by
    collision)."""
    return hashing.band_keys(signature, bands, rows)
