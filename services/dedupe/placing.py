"""Placing a decided article in a story: the agreement protocol on the story index.

A duplicate belongs to its canonical article's story. A canonical article is filed in the story
index as a contender, then judged (``services.dedupe.stories.judge_story``) until it opens a
story or joins one. A batch's canonical articles are filed, looked up and judged together
(``place_all``); one that has to wait for another replica's contender runs the protocol alone
(``place``); the story record itself is written in the engine's commit transaction, under
WATCH, so two articles joining one story at once both count.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, replace

from services.dedupe.buckets import Query
from services.dedupe.decide import Decision, State
from services.dedupe.stories import (
    Await,
    Join,
    Member,
    NewStory,
    Story,
    judge_story,
    judge_story_batch,
    opened,
)
from services.dedupe.story_index import MemberFiling, StoryIndex
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


NO_TERMS = Terms({}, ())


class StoryPlacer:
    def __init__(self, index: StoryIndex, threshold: float, timeout_s: float) -> None:
        self.index = index
        self.threshold = threshold
        self.timeout_s = timeout_s

    async def terms_all(self, articles: Sequence[RawArticle]) -> list[Terms]:
        """Only canonical articles need theirs: a duplicate joins its canonical's story."""
        counted = [term_counts(a.text, a.title) for a in articles]
        every = sorted({term for counts, _ in counted for term in counts})
        frequencies, documents = await self.index.frequencies(every, _now_ms())
        return [
            Terms(salient_terms(counts, named, frequencies, documents), tuple(sorted(counts)))
            for counts, named in counted
        ]

    async def place_all(
        self, articles: Sequence[tuple[RawArticle, Decision]]
    ) -> list[Placement | None]:
        """Place many decided articles at once; None where the article must wait for others
        (``place`` then runs the protocol for it alone)."""
        canonical = [n for n, (_, d) in enumerate(articles) if d.is_canonical]
        terms = await self.terms_all([articles[n][0] for n in canonical])
        terms_of = dict(zip(canonical, terms, strict=True))
        decided = [(a, d, terms_of.get(n, NO_TERMS)) for n, (a, d) in enumerate(articles)]
        now = _now_ms()
        placed: list[Placement | None] = [None] * len(decided)
        canonical_of = {
            n: d.canonical_id for n, (_, d, _) in enumerate(decided) if not d.is_canonical
        }
        filings: dict[int, MemberFiling] = {}
        for n, (article, decision, found) in enumerate(decided):
            if not decision.is_canonical:
                continue
            ingest = id_time_ms(article.id)
            member = Member(article.id, State.CONTENDING, found.salient, None)
            expiry = self.index.expiry_ms(ingest, now)
            if not found.salient:  # nothing to compare
                placed[n] = Placement(article.id, member, expiry, found.all)
                continue
            generation = self.index.window.filed(now, ingest)
            filings[n] = MemberFiling(
                member, self.index.term_buckets(found.salient), generation, expiry
            )
        filed = await self.index.file_all(list(filings.values()))
        # Settled meanwhile by another worker: it has a story already.
        canonical_of |= {
            n: decided[n][0].id for n, ok in zip(filings, filed, strict=True) if not ok
        }
        stories_of = await self.index.stories_of(sorted(set(canonical_of.values())))
        for n, canonical_id in canonical_of.items():
            placed[n] = Placement(stories_of[canonical_id] or canonical_id)
        live = [n for n, ok in zip(filings, filed, strict=True) if ok]
        queries = [Query(decided[n][0].id, filings[n].buckets, id_time_ms(decided[n][0].id))
                   for n in live]  # fmt: skip
        candidates = await self.index.candidates_all(queries, _now_ms())
        stories = await self.index.stories(
            sorted({c.story_id for found in candidates for c in found if c.story_id})
        )
        outcomes = judge_story_batch(
            [(filings[n].member, members, event_ms(decided[n][0]))
             for n, members in zip(live, candidates, strict=True)],
            stories, self.threshold, self.index.quiet_ms,
        )  # fmt: skip
        for n, outcome in zip(live, outcomes, strict=True):
            if not isinstance(outcome, Await):
                story_id = outcome.story_id if isinstance(outcome, Join) else decided[n][0].id
                placed[n] = Placement(story_id, filings[n].member, filings[n].expiry_ms,
                                      decided[n][2].all)  # fmt: skip
        return placed

    async def place(self, article: RawArticle, decision: Decision, poll: Poll) -> Placement:
        if not decision.is_canonical:
            canonical_story = await self.index.story_of(decision.canonical_id)
            return Placement(canonical_story or decision.canonical_id)
        [found] = await self.terms_all([article])
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

    def story_after(
        self, placement: Placement, article: RawArticle, stories: MutableMapping[str, Story]
    ) -> Story | None:
        """The story record once this article is in it; ``stories``, the records as read under
        WATCH, is updated, so that articles of one commit joining one story all count."""
        member = placement.member
        if member is None:
            return None
        at = event_ms(article)
        current = stories.get(placement.story_id)
        if current is not None and placement.story_id == member.article_id:
            story = current  # opened by an earlier attempt at this article
        elif current is None or not current.is_open(at, self.index.quiet_ms):
            story = opened(member.article_id, member.terms, at)
        else:
            story = current.joined(member.terms, at)
        stories[story.story_id] = story
        return story


def event_ms(article: RawArticle) -> int:
    """When the article's event happened, as far as we know: its publication time if given,
    else its ingest time. Stories close by this clock, so a backlog ingested late still groups
    by when it was news."""
    if article.published_at is not None:
        return int(article.published_at.timestamp() * 1000)
    return id_time_ms(article.id)


def _now_ms() -> int:
    return int(time.time() * 1000)
