"""Stories: which canonical articles cover the same event, as pure functions.

A story keeps *representative terms*: the sum of its members' salient-term weights, cut to the
strongest. A new canonical article joins the open story whose representative is most similar
(cosine of the weights) at or above the threshold, otherwise it opens a story of its own. Joining
by the representative, not by any one member, keeps A~B~C chains from gluing unrelated events
into one giant story. A story closes to new members after a quiet time. A duplicate belongs to
its canonical article's story. A story's strongest terms are shown as its members write them
("Gespräch", not the term "gespraech"): the newest member's form, else the one kept before.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import mul

REPRESENTATIVE_TERMS = 40
TOP_TERMS_SHOWN = 8
# One shared word is no event: an article joins a story only on at least this many shared terms
# (two reports of one event share a name and a place, a name and what happened).
MIN_SHARED_TERMS = 2


@dataclass(frozen=True, slots=True)
class Story:
    """``terms`` and ``weights``: the representative, strongest first. Two flat sequences, not
    a dict with a float object per term, and no instance dict: most stories stay of one
    article, and are many."""

    story_id: str
    terms: tuple[str, ...]  # the strongest REPRESENTATIVE_TERMS of the summed member weights
    weights: array[float]
    members: int
    first_seen_ms: int
    last_seen_ms: int
    shown: tuple[str, ...]  # the strongest TOP_TERMS_SHOWN terms as a reader knows them
    squares: float  # Σ weight², the representative's half of every cosine

    def is_open(self, now_ms: int, quiet_ms: int) -> bool:
        return now_ms - self.last_seen_ms <= quiet_ms

    def representative(self) -> dict[str, float]:
        return dict(zip(self.terms, self.weights, strict=True))

    def top_terms(self) -> list[str]:
        return list(self.shown)

    def joined(self, terms: Mapping[str, float], at_ms: int, shown: Mapping[str, str]) -> Story:
        """With one more member, whose terms have ``terms``' weights and ``shown`` forms."""
        summed = self.representative()
        for term, weight in terms.items():
            summed[term] = summed.get(term, 0.0) + weight
        before = dict(zip(self.terms[:TOP_TERMS_SHOWN], self.shown, strict=True))
        return _story(
            self.story_id,
            summed,
            self.members + 1,
            min(self.first_seen_ms, at_ms),
            max(self.last_seen_ms, at_ms),
            {**before, **shown},
        )

    def shared(self, terms: Mapping[str, float]) -> int:
        """How many of ``terms`` the representative has."""
        return sum(map(terms.__contains__, self.terms))

    def similarity(self, terms: Mapping[str, float], squares: float) -> float:
        """The cosine of ``terms`` (whose sum of squares is given) and the representative:
        Σ a·b / √(Σa² · Σb²), summed over the representative's terms, strongest first."""
        # A story is weighed against every article near it: the products in C, not a loop.
        dot: float = sum(map(mul, self.weights, map(terms.get, self.terms, repeat(0.0))))
        if dot <= 0:
            return 0.0
        return dot / math.sqrt(squares * self.squares)


def opened(
    story_id: str, terms: Mapping[str, float], at_ms: int, shown: Mapping[str, str]
) -> Story:
    return _story(story_id, terms, 1, at_ms, at_ms, shown)


def _story(
    story_id: str,
    weights: Mapping[str, float],
    members: int,
    first_ms: int,
    last_ms: int,
    shown: Mapping[str, str],
) -> Story:
    """The strongest REPRESENTATIVE_TERMS of ``weights``, strongest first (of equal weights,
    the first in alphabetical order); the strongest shown by ``shown`` (else as the term)."""
    strongest = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:REPRESENTATIVE_TERMS]
    top = [t for t, _ in strongest[:TOP_TERMS_SHOWN]]
    kept = array("d", [w for _, w in strongest])
    return Story(
        story_id,
        tuple(t for t, _ in strongest),
        kept,
        members,
        first_ms,
        last_ms,
        tuple(shown.get(t, t) for t in top),
        _squares(kept),
    )


def _squares(values: Sequence[float]) -> float:
    total: float = sum(map(mul, values, values))
    return total


def best_story(
    terms: Mapping[str, float],
    candidates: Iterable[Story],
    threshold: float,
    at_ms: int,
    quiet_ms: int,
) -> tuple[Story, float] | None:
    """The open story most similar to ``terms`` at or above ``threshold`` (the earliest id of
    equals) that shares at least MIN_SHARED_TERMS of them, with its similarity rounded as
    published."""
    own = _squares(list(terms.values()))
    best: tuple[float, str, Story] | None = None
    for story in candidates:
        if not story.is_open(at_ms, quiet_ms):
            continue
        similarity = story.similarity(terms, own)
        if similarity < threshold or story.shared(terms) < MIN_SHARED_TERMS:
            continue
        if (
            best is None
            or similarity > best[0]
            or (similarity == best[0] and story.story_id < best[1])
        ):
            best = (similarity, story.story_id, story)
    return (best[2], round(best[0], 4)) if best is not None else None
