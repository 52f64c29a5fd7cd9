"""The verdict rule, as pure functions of an article and the earlier articles it resembles.

The judge sees every article in ingest order, each against the canonical articles before it: a
similar one makes it a duplicate of that article (the earlier-ingested one of a pair stays
canonical); none makes it canonical. Of several similar ones, identical text wins, then the
highest similarity, then the earliest id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from services.dedupe.signature import Signature, containment, jaccard
from shared.models import Measure, Reason


@dataclass(frozen=True)
class Thresholds:
    jaccard: float
    containment: float
    containment_min_shingles: int


@dataclass(frozen=True)
class Entry:
    """An article as the index holds it."""

    article_id: str
    content_key: bytes
    size: int
    signature: Signature


@dataclass(frozen=True)
class Match:
    article_id: str
    similarity: float
    measure: Measure
    exact: bool

    def rank(self) -> tuple[bool, float, str]:
        """Sort key, best first: identical text, then higher similarity, then earlier id."""
        return (not self.exact, -self.similarity, self.article_id)


def match(own: Entry, other: Entry, thresholds: Thresholds) -> Match | None:
    """The pair is a duplicate pair by Jaccard (copies) or containment (teasers, extensions)."""
    if own.content_key == other.content_key:
        return Match(other.article_id, 1.0, "jaccard", exact=True)
    j = jaccard(own.signature, other.signature)
    if j >= thresholds.jaccard:
        return Match(other.article_id, round(j, 4), "jaccard", exact=False)
    if min(own.size, other.size) >= thresholds.containment_min_shingles:
        c = containment(j, own.size, other.size)
        if c >= thresholds.containment:
            return Match(other.article_id, round(c, 4), "containment", exact=False)
    return None


def best_match(own: Entry, candidates: Sequence[Entry], thresholds: Thresholds) -> Match | None:
    """The earlier article ``own`` duplicates, if any."""
    found = [m for entry in candidates if entry.article_id != own.article_id
             if (m := match(own, entry, thresholds)) is not None]  # fmt: skip
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
