"""The verdict rule, as pure functions of an article and the earlier articles it resembles.

The judge sees every article in ingest order, each against the canonical articles before it: a
similar one makes it a duplicate of that article (the earlier-ingested one of a pair stays
canonical); none makes it canonical. Of several similar ones, identical text wins, then the
highest similarity, then the earliest id.

Similar is, in this order: the same words (exact); Jaccard of the 5-word shingles (copies,
light edits); their containment (teasers, extended copies); then, for texts of
``pair_min_words`` words or more, Jaccard of the word pairs (heavy edits) and their containment
(short teasers, remixes). Each is exact, counted on the word hashes each entry keeps
(``overlap``): the signature only finds the candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from services.dedupe.overlap import Grams, Words, grams, overlap
from shared.models import Measure, Reason


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
    words: Words


@dataclass(frozen=True)
class Windows:
    """An entry's word windows, made once for all the comparisons of one look-up."""

    shingles: Grams
    pairs: Grams


def windows(entry: Entry, thresholds: Thresholds) -> Windows:
    return Windows(grams(entry.words, thresholds.shingle_size), grams(entry.words, 2))


@dataclass(frozen=True)
class Match:
    article_id: str
    similarity: float
    measure: Measure
    exact: bool

    def rank(self) -> tuple[bool, float, str]:
        """Sort key, best first: identical text, then higher similarity, then earlier id."""
        return (not self.exact, -self.similarity, self.article_id)


def match(
    own: Entry, other: Entry, thresholds: Thresholds, own_windows: Windows | None = None
) -> Match | None:
    """The pair is a duplicate pair, by the first measure that says so."""
    if own.content_key == other.content_key:
        return Match(other.article_id, 1.0, "jaccard", exact=True)
    mine = windows(own, thresholds) if own_windows is None else own_windows
    theirs = windows(other, thresholds)
    shingled = overlap(mine.shingles, theirs.shingles)
    if shingled.jaccard >= thresholds.jaccard:
        return Match(other.article_id, round(shingled.jaccard, 4), "jaccard", exact=False)
    if (
        shingled.smaller >= thresholds.containment_min_shingles
        and shingled.containment >= thresholds.containment
    ):
        return Match(other.article_id, round(shingled.containment, 4), "containment", False)
    if min(len(own.words), len(other.words)) >= thresholds.pair_min_words:
        paired = overlap(mine.pairs, theirs.pairs)
        if paired.jaccard >= thresholds.pair_jaccard:
            return Match(other.article_id, round(paired.jaccard, 4), "pair_jaccard", False)
        if paired.containment >= thresholds.pair_containment:
            return Match(other.article_id, round(paired.containment, 4), "pair_containment", False)
    return None


def best_match(own: Entry, candidates: Sequence[Entry], thresholds: Thresholds) -> Match | None:
    """The earlier article ``own`` duplicates, if any."""
    others = [entry for entry in candidates if entry.article_id != own.article_id]
    mine = windows(own, thresholds) if others else None
    found = [m for entry in others if (m := match(own, entry, thresholds, mine)) is not None]
    return min(found, key=Match.rank) if found else None


@dataclass(frozen=True)
class Decision:
    """The verdict on one article, as recorded in the index and published."""

    status: Literal["canonical", "duplicate"]
    canonical_id: str
    similarity: float | None = None
    reason: Reason | None = None
    measure: Measure | None = None
    matched_id: str | None = None

    @property
    def is_canonical(self) -> bool:
        return self.status == "canonical"


def canonical(article_id: str) -> Decision:
    return Decision("canonical", article_id)


def following(found: Match, matched: Decision) -> Decision:
    """A duplicate of ``found``'s article, pointing at the canonical that article belongs to."""
    return Decision(
        "duplicate",
        matched.canonical_id,
        found.similarity,
        "exact" if found.exact else "near",
        found.measure,
        found.article_id,
    )


def update_of(owner: Decision, owner_id: str, same_text: bool) -> Decision:
    """The same canonical URL again: a new version of the article first posted there."""
    return Decision(
        "duplicate",
        owner.canonical_id,
        1.0 if same_text else None,
        "exact" if same_text else "update",
        "jaccard" if same_text else None,
        owner_id,
    )
