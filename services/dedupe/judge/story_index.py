"""The story index, in the judge's memory: which open stories an article's terms may belong
to, each canonical article's story, and the document frequencies its terms are weighed by.

Candidates come from an inverted index of the salient terms of canonical articles: every open
story with a member that shares one salient term with the article is found (a hash of each term
is its key), and the story records decide. A look-up reads at most the newest ``postings``
members of each of the article's salient terms and weighs the ``limit`` stories whose members
share the most terms with it, so its work is bounded whatever the index holds. Everything
is kept per generation of the story window (half the quiet time) and dropped as a whole.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import xxhash

from services.dedupe.judge.bands import BandIndex
from services.dedupe.judge.key_counts import KeyCounts
from services.dedupe.judge.stories import Story
from services.dedupe.judge.window import Window


class _Members:
    """The canonical articles of one generation: each one's story, and the keys of its salient
    terms (a slot is a member's position)."""

    def __init__(self) -> None:
        self.story_of: dict[str, str] = {}
        self.slot_story: list[str] = []
        self.ingest_ms = array("q")
        self.bands = BandIndex(merge_at=1 << 16)


class StoryIndex:
    def __init__(self, quiet_ms: int) -> None:
        self.window = Window(quiet_ms)
        self.quiet_ms = quiet_ms
        self.members: dict[int, _Members] = {}
        self.stories: dict[str, Story] = {}
        self.touched: dict[str, int] = {}  # by story: the ingest time of its last member
        self.term_counts: dict[int, KeyCounts] = {}  # by generation: terms' document counts
        self.documents: dict[int, int] = {}

    def keys(self, terms: Iterable[str]) -> npt.NDArray[np.uint64]:
        """A key per term: what the frequencies count and the members are filed under."""
        digest = xxhash.xxh3_64_intdigest
        return np.fromiter(map(digest, map(str.encode, terms)), dtype=np.uint64)

    def frequencies(self, keys: npt.NDArray[np.uint64], at_ms: int) -> tuple[list[int], int]:
        """Document frequencies of the terms of ``keys`` among canonical articles of this
        generation and the one before, and their number."""
        g = self.window.generation(at_ms)
        counted = np.zeros(len(keys), dtype=np.int64)
        for generation in (g - 1, g):
            counts = self.term_counts.get(generation)
            if counts is not None:
                counted += counts.get(keys)
        return counted.tolist(), self.documents.get(g, 0) + self.documents.get(g - 1, 0)

    def count(self, keys: npt.NDArray[np.uint64], at_ms: int) -> None:
        """One more canonical article, holding the terms of ``keys``."""
        g = self.window.generation(at_ms)
        counts = self.term_counts.get(g)
        if counts is None:
            counts = self.term_counts[g] = KeyCounts()
        counts.add(keys)
        self.documents[g] = self.documents.get(g, 0) + 1

    def candidates(
        self, keys: npt.NDArray[np.uint64], at_ms: int, postings: int, limit: int
    ) -> list[Story]:
        """The open stories of live members that share salient terms with ``keys``: the
        ``limit`` sharing the most (the earliest id of equals)."""
        shared: dict[str, int] = {}
        live_from = at_ms - self.quiet_ms
        for members in self.members.values():
            slots, counts = np.unique(members.bands.postings(keys, postings), return_counts=True)
            if not len(slots):
                continue
            live = np.frombuffer(members.ingest_ms, dtype=np.int64)[slots] >= live_from
            for slot, count in zip(slots[live].tolist(), counts[live].tolist(), strict=True):
                story = members.slot_story[slot]
                shared[story] = shared.get(story, 0) + count
        found = sorted((s for s in shared if s in self.stories), key=lambda s: (-shared[s], s))
        return [self.stories[s] for s in found[:limit]]

    def story_of(self, article_id: str) -> str | None:
        for members in self.members.values():
            story = members.story_of.get(article_id)
            if story is not None:
                return story
        return None

    def file(
        self, article_id: str, ingest_ms: int, keys: npt.NDArray[np.uint64] | None, story: Story
    ) -> None:
        """A canonical article settled in ``story`` (``keys``: its salient terms', if any)."""
        g = self.window.generation(ingest_ms)
        members = self.members.get(g)
        if members is None:
            members = self.members[g] = _Members()
        members.story_of[article_id] = story.story_id
        if keys is not None:
            slot = len(members.slot_story)
            members.slot_story.append(story.story_id)
            members.ingest_ms.append(ingest_ms)
            members.bands.add(slot, keys.tolist())
        self.stories[story.story_id] = story
        self.touched[story.story_id] = ingest_ms

    def expire(self, at_ms: int) -> None:
        for table in (self.members, self.term_counts, self.documents):
            for g in [g for g in table if self.window.expired(g, at_ms)]:
                del table[g]
        # Its members have left the window: no article can find it any more.
        gone = at_ms - 2 * self.quiet_ms
        for story_id in [s for s, touched in self.touched.items() if touched < gone]:
            del self.stories[story_id]
            del self.touched[story_id]
