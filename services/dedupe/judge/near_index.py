"""The dedupe index, in the judge's memory: canonical articles' signatures, LSH-banded, and the
first article posted under each canonical URL.

Only the judge writes it, in ingest order, so a look-up sees exactly the articles ingested
before. Entries are kept per generation of the window (``Segment``): word hashes end to end in
one numpy array, the LSH keys in a ``BandIndex``; a generation whose entries have all expired is
dropped as a whole. The signature itself is not kept: it finds the candidates, and the words
decide. At the default 128 permutations an entry of a median article (440 words) costs about
1.8 KB: word hashes 880 B, 64 band keys and 2 lead keys with their slots 792 B, id, time, word
offset, content key and distinct window counts 58 B.

A look-up's work is bounded whatever the index holds: of each key it reads at most the newest
``postings`` slots, ranks the entries found by the keys they share (a lead key counts as
``LEAD_WEIGHT`` band keys: a teaser shares its lead and few bands), and hands on the best
``verify`` of them, earlier entries first among equals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.dedupe.judge.bands import BandIndex, BandKeys, band_keys
from services.dedupe.judge.decide import Candidates, Entry
from services.dedupe.judge.window import Window
from services.dedupe.text.pairs import WordHashes, lead_keys
from services.dedupe.text.signature import Signature

_ID = "S26"  # a ULID's 26 ASCII characters
LEAD_WEIGHT = 4


@dataclass(frozen=True)
class Limits:
    """How much of the index one look-up reads and verifies."""

    postings: int  # slots read per key, the newest
    verify: int  # candidates verified, the best ranked


Scored = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]  # slots, and their scores


class Segment:
    """The entries of one generation, in filing order; a slot is an entry's row."""

    def __init__(self, capacity: int = 1024) -> None:
        self.count = 0
        self.ids = np.empty(capacity, dtype=_ID)
        self.ingest_ms = np.empty(capacity, dtype=np.int64)
        self.content = np.empty(capacity, dtype=np.uint64)  # S8 would drop trailing zero bytes
        self.word_ends = np.empty(capacity, dtype=np.int64)  # entry n's words end here
        self.distinct = np.empty((capacity, 2), dtype=np.int32)  # shingles and word pairs
        self.words: WordHashes = np.empty(capacity * 256, dtype=np.uint16)
        self.bands = BandIndex()

    def add(
        self, entry: Entry, ingest_ms: int, keys: npt.NDArray[np.uint64], distinct: tuple[int, int]
    ) -> None:
        if self.count == len(self.ids):
            self._grow()
        n = self.count
        self.distinct[n] = distinct
        self.ids[n] = entry.article_id
        self.ingest_ms[n] = ingest_ms
        self.content[n] = int.from_bytes(entry.content_key, "little")
        start = int(self.word_ends[n - 1]) if n else 0
        end = start + len(entry.words)
        if end > len(self.words):
            grown = np.empty(max(2 * len(self.words), end), dtype=np.uint16)
            grown[:start] = self.words[:start]
            self.words = grown
        self.words[start:end] = entry.words
        self.word_ends[n] = end
        self.bands.add(n, keys.tolist())
        self.count += 1

    def _grow(self) -> None:
        size = 2 * len(self.ids)
        for name in ("ids", "ingest_ms", "content", "word_ends", "distinct"):
            old = getattr(self, name)
            new = np.empty((size, *old.shape[1:]), dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def scored(self, bands: BandKeys, leads: BandKeys, limits: Limits, live_from_ms: int) -> Scored:
        """The live slots sharing keys with ``bands`` and ``leads``, and their scores."""
        found = np.concatenate([self.bands.postings(bands, limits.postings),
                                np.repeat(self.bands.postings(leads, limits.postings),
                                          LEAD_WEIGHT)])  # fmt: skip
        slots, scores = np.unique(found, return_counts=True)
        live = self.ingest_ms[slots] >= live_from_ms
        return slots[live], scores[live]

    def candidates(self, slots: npt.NDArray[np.int64]) -> Candidates:
        """These slots' entries, for verification."""
        slots = np.sort(slots)
        ends = self.word_ends[slots]
        starts = np.where(slots > 0, self.word_ends[np.maximum(slots - 1, 0)], 0)
        return Candidates(
            [i.decode() for i in self.ids[slots].tolist()],
            self.content[slots].tolist(),
            self.words,
            starts,
            ends,
            self.distinct[slots, 0].astype(np.int64),
            self.distinct[slots, 1].astype(np.int64),
        )

    def nbytes(self) -> int:
        """Memory of the rows in use (not the room kept for more) and the bands."""
        rows = self.count * (self.ids.itemsize + 8 + 8 + 8 + 8)
        words = 2 * int(self.word_ends[self.count - 1]) if self.count else 0
        return rows + words + self.bands.nbytes()


@dataclass(frozen=True)
class UrlOwner:
    article_id: str
    content_key: bytes
    canonical_id: str
    ingest_ms: int


class NearIndex:
    def __init__(self, bands: int, rows: int, window: Window) -> None:
        self.band_count, self.rows = bands, rows
        self.window = window
        self.segments: dict[int, Segment] = {}
        self.urls: dict[int, dict[bytes, UrlOwner]] = {}

    def __len__(self) -> int:
        return sum(s.count for s in self.segments.values())

    def keys(self, signature: Signature, words: WordHashes) -> tuple[BandKeys, BandKeys]:
        """An article's LSH keys: its signature's bands, and its opening words' keys."""
        return band_keys(signature, self.band_count, self.rows), lead_keys(words)

    def candidates(
        self, keys: tuple[BandKeys, BandKeys], at_ms: int, limits: Limits
    ) -> list[Candidates]:
        """The best ``limits.verify`` live entries sharing keys with ``keys``, by segment."""
        live_from = at_ms - self.window.horizon_ms
        found = [(g, *self.segments[g].scored(*keys, limits, live_from))
                 for g in sorted(self.segments)]  # fmt: skip
        found = [(g, slots, scores) for g, slots, scores in found if len(slots)]
        if not found:
            return []
        generations = np.concatenate([np.full(len(s), g) for g, s, _ in found])
        slots = np.concatenate([s for _, s, _ in found])
        scores = np.concatenate([c for _, _, c in found])
        best = np.lexsort((slots, generations, -scores))[: limits.verify]
        return [self.segments[g].candidates(slots[best][generations[best] == g])
                for g in np.unique(generations[best]).tolist()]  # fmt: skip

    def add(
        self,
        entry: Entry,
        ingest_ms: int,
        keys: tuple[BandKeys, BandKeys],
        distinct: tuple[int, int],
    ) -> None:
        generation = self.window.generation(ingest_ms)
        segment = self.segments.get(generation)
        if segment is None:
            segment = self.segments[generation] = Segment()
        segment.add(entry, ingest_ms, np.concatenate(keys), distinct)

    def url_owner(self, url: bytes, at_ms: int) -> UrlOwner | None:
        for owners in self.urls.values():
            owner = owners.get(url)
            if owner is not None and self.window.live(owner.ingest_ms, at_ms):
                return owner
        return None

    def claim_url(self, url: bytes, owner: UrlOwner) -> None:
        self.urls.setdefault(self.window.generation(owner.ingest_ms), {})[url] = owner

    def expire(self, at_ms: int) -> None:
        """Drop the generations whose entries have all left the window."""
        for generation in [g for g in self.segments if self.window.expired(g, at_ms)]:
            del self.segments[generation]
        for generation in [g for g in self.urls if self.window.expired(g, at_ms)]:
            del self.urls[generation]

    def nbytes(self) -> int:
        urls = sum(len(owners) for owners in self.urls.values()) * 250  # objects, estimated
        return sum(s.nbytes() for s in self.segments.values()) + urls
