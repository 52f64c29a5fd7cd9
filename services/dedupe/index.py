"""The dedupe index, in the judge's memory: canonical articles' signatures, LSH-banded, and the
first article posted under each canonical URL.

Only the judge writes it, in ingest order, so a look-up sees exactly the articles ingested
before. Entries are kept per generation of the window (``Segment``): word hashes end to end in
one numpy array, the LSH keys in a ``BandIndex``; a generation whose entries have all expired is
dropped as a whole. The signature itself is not kept: it finds the candidates, and the words
decide. At the default 128 permutations an entry of a median article (440 words) costs about
1.8 KB: word hashes 880 B, 64 band keys and 2 lead keys with their slots 792 B, id, time, word
offset and content key 50 B.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.dedupe.bands import BandIndex, band_keys
from services.dedupe.decide import Entry
from services.dedupe.overlap import Words, lead_keys
from services.dedupe.signature import Signature
from services.dedupe.window import Window

_ID = "S26"  # a ULID's 26 ASCII characters


class Segment:
    """The entries of one generation, in filing order; a slot is an entry's row."""

    def __init__(self, capacity: int = 1024) -> None:
        self.count = 0
        self.ids = np.empty(capacity, dtype=_ID)
        self.ingest_ms = np.empty(capacity, dtype=np.int64)
        self.content = np.empty(capacity, dtype=np.uint64)  # S8 would drop trailing zero bytes
        self.word_ends = np.empty(capacity, dtype=np.int64)  # entry n's words end here
        self.words: Words = np.empty(capacity * 256, dtype=np.uint16)
        self.bands = BandIndex()

    def add(self, entry: Entry, ingest_ms: int, keys: npt.NDArray[np.uint64]) -> None:
        if self.count == len(self.ids):
            self._grow()
        n = self.count
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
        for name in ("ids", "ingest_ms", "content", "word_ends"):
            old = getattr(self, name)
            new = np.empty((size, *old.shape[1:]), dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def entries(self, slots: list[int], live_from_ms: int) -> list[Entry]:
        at = np.asarray(sorted(slots), dtype=np.int64)
        at = at[self.ingest_ms[at] >= live_from_ms]
        ends = self.word_ends[at].tolist()
        starts = [int(self.word_ends[n - 1]) if n else 0 for n in at.tolist()]
        return [
            Entry(i.decode(), c.to_bytes(8, "little"), self.words[start:end])
            for i, c, start, end in zip(
                self.ids[at].tolist(), self.content[at].tolist(), starts, ends, strict=True
            )
        ]  # fmt: skip

    def nbytes(self) -> int:
        """Memory of the rows in use (not the room kept for more) and the bands."""
        rows = self.count * (self.ids.itemsize + 8 + 8 + 8)
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

    def keys(self, signature: Signature, words: Words) -> npt.NDArray[np.uint64]:
        """An article's LSH keys: its signature's bands, and its opening words' keys."""
        return np.concatenate((band_keys(signature, self.band_count, self.rows), lead_keys(words)))

    def candidates(self, keys: npt.NDArray[np.uint64], at_ms: int) -> list[Entry]:
        """Every live entry sharing a band key with ``keys``."""
        found = []
        live_from = at_ms - self.window.horizon_ms
        for segment in self.segments.values():
            slots = segment.bands.find(keys)
            if slots:
                found += segment.entries(list(slots), live_from)
        return found

    def add(self, entry: Entry, ingest_ms: int, keys: npt.NDArray[np.uint64]) -> None:
        generation = self.window.generation(ingest_ms)
        segment = self.segments.get(generation)
        if segment is None:
            segment = self.segments[generation] = Segment()
        segment.add(entry, ingest_ms, keys)

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
