"""The verdict rule, as pure functions of an article and the earlier articles it resembles.

The judge sees every article in ingest order, each against the canonical articles before it: a
similar one makes it a duplicate of that article (the earlier-ingested one of a pair stays
canonical); none makes it canonical. Of several similar ones, identical text wins, then the
highest similarity, then the earliest id.

Similar is, in this order: the same words (exact); Jaccard of the 5-word shingles (copies,
light edits); their containment (teasers, extended copies); then, for texts of
``pair_min_words`` words or more, Jaccard of the word pairs (heavy edits) and their containment
(short teasers, remixes). Each is exact, counted on the word hashes each entry keeps: the
article's distinct windows are filed once per look-up (``OverlapTable``), each candidate's
windows are counted against them in one compiled pass, and each entry keeps how many distinct
windows it has, so nothing of a candidate is built again. The signature only finds the
candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.dedupe.judge.overlap_table import OverlapTable
from services.dedupe.text.pairs import WordHashes
from shared.models import Decision, Measure

Counts = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Thresholds:
    shingle_size: int
    jaccard: float
    containment: float
    containment_min_shingles: int
    pair_jaccard: float
    pair_containment: float
    pair_min_words: int


@dataclass(frozen=True)
class Entry:
    """An article as the index holds it."""

    article_id: str
    content_key: bytes
    words: WordHashes


def content_int(content_key: bytes) -> int:
    return int.from_bytes(content_key, "little")


@dataclass(frozen=True)
class Candidates:
    """Earlier entries to verify: their words end to end, and how many distinct shingles and
    word pairs each has."""

    ids: Sequence[str]
    content: Sequence[int]  # ``content_int`` of each content key
    words: WordHashes
    starts: Counts
    ends: Counts
    shingles: Counts
    pairs: Counts

    @classmethod
    def of(cls, entries: Sequence[Entry], shingle_size: int) -> Candidates:
        lengths = np.asarray([len(e.words) for e in entries], dtype=np.int64)
        ends = np.cumsum(lengths)
        counted = [OverlapTable(e.words, shingle_size) for e in entries]
        return cls(
            [e.article_id for e in entries],
            [content_int(e.content_key) for e in entries],
            np.concatenate([e.words for e in entries]) if entries else np.empty(0, np.uint16),
            ends - lengths,
            ends,
            np.asarray([w.shingle_count for w in counted], dtype=np.int64),
            np.asarray([w.pair_count for w in counted], dtype=np.int64),
        )


@dataclass(frozen=True)
class Match:
    article_id: str
    similarity: float
    measure: Measure
    exact: bool

    def rank(self) -> tuple[bool, float, str]:
        """Sort key, best first: identical text, then higher similarity, then earlier id."""
        return (not self.exact, -self.similarity, self.article_id)


def measured(
    article_id: str, own: tuple[int, int, int], other: tuple[int, int, int],
    common: tuple[int, int], thresholds: Thresholds,
) -> Match | None:  # fmt: skip
    """The pair is a duplicate pair, by the first measure that says so. ``own`` and ``other``:
    each text's words, distinct shingles and distinct word pairs; ``common``: the distinct
    shingles and word pairs the two share."""
    (own_words, own_shingles, own_pairs), (words, shingles, pairs) = own, other
    jaccard, containment, smaller = _overlap(own_shingles, shingles, common[0])
    if jaccard >= thresholds.jaccard:
        return Match(article_id, round(jaccard, 4), "jaccard", exact=False)
    if smaller >= thresholds.containment_min_shingles and containment >= thresholds.containment:
        return Match(article_id, round(containment, 4), "containment", False)
    if min(own_words, words) >= thresholds.pair_min_words:
        jaccard, containment, _ = _overlap(own_pairs, pairs, common[1])
        if jaccard >= thresholds.pair_jaccard:
            return Match(article_id, round(jaccard, 4), "pair_jaccard", False)
        if containment >= thresholds.pair_containment:
            return Match(article_id, round(containment, 4), "pair_containment", False)
    return None


def _overlap(a: int, b: int, common: int) -> tuple[float, float, int]:
    """Jaccard, containment (of the smaller in the larger) and the smaller's size."""
    if a == 0 or b == 0:
        return 0.0, 0.0, 0
    smaller = min(a, b)
    return common / (a + b - common), common / smaller, smaller


def best_match(
    own: Entry, batches: Sequence[Candidates], thresholds: Thresholds,
    windows: OverlapTable | None = None,
) -> Match | None:  # fmt: skip
    """The earlier article ``own`` duplicates, if any, of the candidates (``windows``: own's,
    if made already)."""
    found = []
    key = content_int(own.content_key)
    mine = windows or OverlapTable(own.words, thresholds.shingle_size)
    counts = (len(own.words), mine.shingle_count, mine.pair_count)
    for batch in batches:
        common_shingles, common_pairs = mine.common(batch.words, batch.starts, batch.ends)
        for c, article_id in enumerate(batch.ids):
            if article_id == own.article_id:
                continue
            if batch.content[c] == key:
                found.append(Match(article_id, 1.0, "jaccard", exact=True))
                continue
            other = (int(batch.ends[c] - batch.starts[c]), int(batch.shingles[c]),
                     int(batch.pairs[c]))  # fmt: skip
            common = (int(common_shingles[c]), int(common_pairs[c]))
            match = measured(article_id, counts, other, common, thresholds)
            if match is not None:
                found.append(match)
    return min(found, key=Match.rank) if found else None


def canonical(article_id: str) -> Decision:
    return Decision(status="canonical", canonical_id=article_id)


def following(found: Match, matched: Decision) -> Decision:
    """A duplicate of ``found``'s article, pointing at the canonical that article belongs to."""
    return Decision(
        status="duplicate",
        canonical_id=matched.canonical_id,
        similarity=found.similarity,
        reason="exact" if found.exact else "near",
        measure=found.measure,
        matched_id=found.article_id,
    )


def update_of(owner: Decision, owner_id: str, same_text: bool) -> Decision:
    """The same canonical URL again: a new version of the article first posted there."""
    return Decision(
        status="duplicate",
        canonical_id=owner.canonical_id,
        similarity=1.0 if same_text else None,
        reason="exact" if same_text else "update",
        measure="jaccard" if same_text else None,
        matched_id=owner_id,
    )
