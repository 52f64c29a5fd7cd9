"""The verdict rule, as pure functions of what the index holds.

Replicas agree through an insert-then-query protocol (``services.dedupe.engine`` drives it):

1. An article enters the index as a *contender* (state C) before it looks at anything.
2. It queries the index and verifies every LSH candidate on its signature.
3. ``judge`` decides from the candidates it verified as similar:
   - a similar article already final *canonical* (K): duplicate of it;
   - an earlier-ingested similar contender, or one that already withdrew (W): *yield* (go to W,
     wait for that article's final verdict, become a duplicate of its canonical);
   - a later-ingested similar contender: *wait* until it withdraws or turns canonical, then
     judge again;
   - otherwise: canonical.

Why two similar articles never both end canonical: each was inserted before it queried, so the
one that queried second saw the other. If that is the later-ingested one, it yields. If it is the
earlier one, the later one queried before the earlier one existed and may turn canonical; the
earlier one sees it as a contender or as canonical, waits for it to settle, and yields to it. A
later article never waits for an earlier contender to settle, so waits cannot form a cycle.
When both are in flight together the earlier-ingested article is the one that ends canonical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal

from services.dedupe.signature import Signature, containment, jaccard
from shared.models import Measure, Reason


class State(StrEnum):
    CONTENDING = "C"
    WITHDRAWN = "W"
    CANONICAL = "K"


@dataclass(frozen=True)
class Thresholds:
    jaccard: float
    containment: float
    containment_min_shingles: int


@dataclass(frozen=True)
class Entry:
    """An article as the index holds it."""

    article_id: str
    state: State
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


@dataclass(frozen=True)
class Canonical:
    pass


@dataclass(frozen=True)
class DuplicateOf:
    """Final: ``match`` is canonical already."""

    match: Match


@dataclass(frozen=True)
class YieldTo:
    """Withdraw, then take the final verdict of ``match``'s article and follow it."""

    match: Match


@dataclass(frozen=True)
class WaitFor:
    """Later-ingested contenders that must settle before this article can be judged."""

    article_ids: tuple[str, ...]


Outcome = Canonical | DuplicateOf | YieldTo | WaitFor


def judge(own: Entry, candidates: Sequence[Entry], thresholds: Thresholds) -> Outcome:
    similar: list[tuple[Match, Entry]] = []
    for entry in candidates:
        if entry.article_id == own.article_id:
            continue
        found = match(own, entry, thresholds)
        if found is not None:
            similar.append((found, entry))
    final = [m for m, e in similar if e.state is State.CANONICAL]
    if final:
        return DuplicateOf(min(final, key=Match.rank))
    earlier = [m for m, e in similar if e.article_id < own.article_id]
    if earlier:
        return YieldTo(min(earlier, key=Match.rank))
    contending = sorted(e.article_id for _, e in similar if e.state is State.CONTENDING)
    if contending:
        return WaitFor(tuple(contending))
    return Canonical()


def judge_batch(
    batch: Sequence[tuple[Entry, Sequence[Entry]]], thresholds: Thresholds
) -> list[Outcome]:
    """Judge articles filed together (in ingest order) as if each were judged after the ones
    before it had settled.

    An earlier article of the batch found canonical counts as canonical; one found a duplicate
    has left the index; a later one is not looked at, as it is judged after this one and sees
    it. An earlier one that has to wait stays the contender the index shows, so whoever is
    similar to it waits too, and the protocol settles them one by one.
    """
    in_batch = {own.article_id for own, _ in batch}
    outcomes: dict[str, Outcome] = {}
    for own, candidates in batch:
        seen = []
        for entry in candidates:
            other = entry.article_id
            if other not in in_batch:
                seen.append(entry)
            elif isinstance(outcomes.get(other), Canonical):
                seen.append(replace(entry, state=State.CANONICAL))
            elif other < own.article_id and not isinstance(outcomes.get(other), DuplicateOf):
                seen.append(entry)
        outcomes[own.article_id] = judge(own, seen, thresholds)
    return [outcomes[own.article_id] for own, _ in batch]


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
