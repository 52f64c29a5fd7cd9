"""Stories: which canonical articles cover the same event, as pure functions.

A story keeps *representative terms*: the sum of its members' salient-term weights, cut to the
strongest. A new canonical article joins the open story whose representative is most similar
(cosine of the weights) at or above the threshold, otherwise it opens a story of its own. Joining
by the representative, not by any one member, keeps A~B~C chains from gluing unrelated events
into one giant story. A story closes to new members after a quiet time.

Replicas agree on it through the same protocol as duplicates (``services.dedupe.decide``): an
article is filed as a contender before it looks; a similar earlier-ingested contender makes it
withdraw and wait for that article's story; a similar later one is waited for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from operator import mul

from services.dedupe.decide import State

REPRESENTATIVE_TERMS = 40
TOP_TERMS_SHOWN = 8


@dataclass(frozen=True)
class Story:
    story_id: str
    weights: dict[str, float]  # summed member term weights, strongest REPRESENTATIVE_TERMS
    members: int
    first_seen_ms: int
    last_seen_ms: int

    @cached_property
    def squares(self) -> float:
        return _squares(self.weights)

    def is_open(self, now_ms: int, quiet_ms: int) -> bool:
        return now_ms - self.last_seen_ms <= quiet_ms

    def top_terms(self, count: int = TOP_TERMS_SHOWN) -> list[str]:
        return [t for t, _ in sorted(self.weights.items(), key=lambda kv: (-kv[1], kv[0]))[:count]]

    def joined(self, terms: Mapping[str, float], at_ms: int) -> Story:
        summed = dict(self.weights)
        for term, weight in terms.items():
            summed[term] = summed.get(term, 0.0) + weight
        strongest = sorted(summed.items(), key=lambda kv: (-kv[1], kv[0]))[:REPRESENTATIVE_TERMS]
        return Story(
            self.story_id,
            dict(strongest),
            self.members + 1,
            min(self.first_seen_ms, at_ms),
            max(self.last_seen_ms, at_ms),
        )


def opened(story_id: str, terms: Mapping[str, float], at_ms: int) -> Story:
    return Story(story_id, dict(terms), 1, at_ms, at_ms)


def _squares(weights: Mapping[str, float]) -> float:
    values = weights.values()
    total: float = sum(map(mul, values, values))
    return total


def _cosine(
    a: Mapping[str, float], a_squares: float, b: Mapping[str, float], b_squares: float
) -> float:
    """``cosine`` with each side's sum of squares given: a contender is compared with every
    similar article in flight and every story near it, which on busy replicas is most of the
    story work, so each article's and story's sum is computed once (``squares``)."""
    dot = sum([w * b[t] for t, w in a.items() if t in b])
    if dot <= 0:
        return 0.0
    return dot / math.sqrt(a_squares * b_squares)


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Σ a·b / √(Σa² · Σb²), summed in ``a``'s order over the terms both have: the same float as
    the sum over all of ``a``'s terms (a missing term adds an exact 0.0), at less cost."""
    return _cosine(a, _squares(a), b, _squares(b))


@dataclass(frozen=True)
class Member:
    """An article in the story index: its terms, its protocol state (K once settled in a
    story), and that story."""

    article_id: str
    state: State
    terms: dict[str, float]
    story_id: str | None

    @cached_property
    def squares(self) -> float:
        return _squares(self.terms)


@dataclass(frozen=True)
class NewStory:
    pass


@dataclass(frozen=True)
class Join:
    story_id: str
    similarity: float


@dataclass(frozen=True)
class Await:
    """Wait until these articles settle, then judge again; ``withdraw`` first if told to."""

    article_ids: tuple[str, ...]
    withdraw: bool


StoryOutcome = NewStory | Join | Await


def judge_story(
    own: Member,
    candidates: Sequence[Member],
    stories: Mapping[str, Story],
    threshold: float,
    now_ms: int,
    quiet_ms: int,
) -> StoryOutcome:
    """``stories``: the live stories of the settled candidates (closed or expired ones absent)."""
    best: tuple[float, str] | None = None
    for member in candidates:
        story = stories.get(member.story_id or "")
        if member.state is not State.CANONICAL or story is None:
            continue
        if not story.is_open(now_ms, quiet_ms):
            continue
        similarity = _cosine(own.terms, own.squares, story.weights, story.squares)
        if similarity >= threshold and (
            best is None
            or similarity > best[0]
            or (similarity == best[0] and story.story_id < best[1])
        ):
            best = (similarity, story.story_id)
    if best is not None:
        return Join(best[1], round(best[0], 4))
    contenders = [
        m
        for m in candidates
        if m.state is not State.CANONICAL
        and m.article_id != own.article_id
        and _cosine(own.terms, own.squares, m.terms, m.squares) >= threshold
    ]
    earlier = sorted(m.article_id for m in contenders if m.article_id < own.article_id)
    if earlier:
        return Await(tuple(earlier), withdraw=True)
    later = sorted(m.article_id for m in contenders if m.state is State.CONTENDING)
    if later:
        return Await(tuple(later), withdraw=False)
    return NewStory()


def judge_story_batch(
    batch: Sequence[tuple[Member, Sequence[Member], int]],
    stories: Mapping[str, Story],
    threshold: float,
    quiet_ms: int,
) -> list[StoryOutcome]:
    """Place canonical articles filed together (in ingest order, each with its candidates and
    event time) as if each were placed after the ones before it had settled.

    An earlier article of the batch that found its story counts as settled in it, the story as
    it is with that article; a later one is not looked at (it is placed after this one and sees
    it); an earlier one that has to wait stays a contender, so whoever is similar waits too.
    """
    in_batch = {own.article_id for own, _, _ in batch}
    live = dict(stories)
    placed: dict[str, Member] = {}
    outcomes = []
    for own, candidates, at_ms in batch:
        seen = [
            placed.get(m.article_id, m)
            for m in candidates
            if m.article_id not in in_batch
            or m.article_id in placed
            or m.article_id < own.article_id
        ]
        outcome = judge_story(own, seen, live, threshold, at_ms, quiet_ms)
        outcomes.append(outcome)
        if isinstance(outcome, Await):
            continue
        if isinstance(outcome, Join):
            story = live[outcome.story_id].joined(own.terms, at_ms)
        else:
            story = opened(own.article_id, own.terms, at_ms)
        live[story.story_id] = story
        placed[own.article_id] = replace(own, state=State.CANONICAL, story_id=story.story_id)
    return outcomes
