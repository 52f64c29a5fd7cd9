"""Placing a decided article in a story: the agreement protocol on the story index.

A duplicate belongs to its canonical article's story. A canonical article is filed in the story
index as a contender, then judged (``services.dedupe.stories.judge_story``) until it opens a
story or joins one; the story record itself is written in the engine's commit transaction, under
WATCH, so two articles joining one story at once both count.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from redis.asyncio.client import Pipeline

from services.dedupe.decide import Decision, State
from services.dedupe.stories import Await, Join, Member, NewStory, Story, judge_story, opened
from services.dedupe.story_index import StoryIndex
from services.dedupe.terms import salient_terms, term_counts
from shared.ids import id_time_ms
from shared.models import RawArticle

Poll = Callable[[Callable[[], Awaitable[bool]], float, str], Awaitable[None]]


@dataclass(frozen=True)
class Placement:
    story_id: str  # the story to join; the article's own id when it opens one
    member: Member | None = None  # a canonical article's entry in the story index
    expiry_ms: int = 0
    counted: tuple[str, ...] = ()  # its terms, counted for document frequencies at commit


@dataclass(frozen=True)
class Terms:
    """An article's salient terms, and every term it has (for document frequencies)."""

    salient: dict[str, float]
    all: tuple[str, ...]


class StoryPlacer:
    def __init__(self, index: StoryIndex, threshold: float, timeout_s: float) -> None:
        self.index = index
        self.threshold = threshold
        self.timeout_s = timeout_s

    async def terms_of(self, article: RawArticle) -> Terms:
        """Computed with the article's features, before it is judged, so that placing a
        canonical article in its story takes as few round trips as it can."""
        counts, named = term_counts(article.text, article.title)
        terms = sorted(counts)
        frequencies, documents = await self.index.frequencies(terms, _now_ms())
        return Terms(salient_terms(counts, named, frequencies, documents), tuple(terms))

    async def place(
        self, article: RawArticle, decision: Decision, poll: Poll, found: Terms
    ) -> Placement:
        if not decision.is_canonical:
            canonical_story = await self.index.story_of(decision.canonical_id)
            return Placement(canonical_story or decision.canonical_id)
        now, ingest, event = _now_ms(), id_time_ms(article.id), event_ms(article)
        terms = found.salient
        member = Member(article.id, State.CONTENDING, terms, None)
        expiry = self.index.expiry_ms(ingest, now)
        if not terms:
            return Placement(article.id, member, expiry, found.all)  # nothing to compare
        buckets = self.index.term_buckets(terms)
        filed = await self.index.file(member, buckets, self.index.window.filed(now, ingest), expiry)
        if not filed:  # settled meanwhile by another worker
            return Placement(await self.index.story_of(article.id) or article.id)
        deadline = time.monotonic() + self.timeout_s
        while True:
            candidates = await self.index.candidates(article.id, buckets, _now_ms(), ingest)
            stories = await self.index.stories(
                sorted({c.story_id for c in candidates if c.story_id})
            )
            outcome = judge_story(
                member, candidates, stories, self.threshold, event, self.index.quiet_ms
            )
            if isinstance(outcome, NewStory):
                return Placement(article.id, member, expiry, found.all)
            if isinstance(outcome, Join):
                return Placement(outcome.story_id, member, expiry, found.all)
            assert isinstance(outcome, Await)
            if outcome.withdraw and member.state is not State.WITHDRAWN:
                member = replace(member, state=State.WITHDRAWN)
                await self.index.withdraw(member, expiry)
            waiting, settled_only = outcome.article_ids, outcome.withdraw

            async def settled(ids: tuple[str, ...] = waiting, strict: bool = settled_only) -> bool:
                states = (await self.index.states(ids)).values()
                if strict:  # an earlier article: wait for its story
                    return all(s in (State.CANONICAL, None) for s in states)
                return all(s is not State.CONTENDING for s in states)

            await poll(settled, deadline, f"story contenders {', '.join(waiting)} did not settle")

    async def story_after(
        self, watching: Pipeline, placement: Placement, article: RawArticle
    ) -> Story | None:
        """The story record as it will be once this article is in it (read under WATCH)."""
        member = placement.member
        if member is None:
            return None
        at = event_ms(article)
        current = await self.index.current(placement.story_id, watching)
        if current is not None and placement.story_id == member.article_id:
            return current  # opened by an earlier attempt at this article
        if current is None or not current.is_open(at, self.index.quiet_ms):
            return opened(member.article_id, member.terms, at)
        return current.joined(member.terms, at)


def event_ms(article: RawArticle) -> int:
    """When the article's event happened, as far as we know: its publication time if given,
    else its ingest time. Stories close by this clock, so a backlog ingested late still groups
    by when it was news."""
    if article.published_at is not None:
        return int(article.published_at.timestamp() * 1000)
    return id_time_ms(article.id)


def _now_ms() -> int:
    return int(time.time() * 1000)
