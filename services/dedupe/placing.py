"""Placing a decided article in a story: the agreement protocol on the story index.

A duplicate belongs to its canonical article's story. A canonical article is filed in the story
index as a contender, then judged (``services.dedupe.stories.judge_story``) until it opens a
story or joins one. A batch's canonical articles are filed, looked up and judged together
(``place_all``); those that have to wait for other replicas' contenders wait together, in
rounds (``rounds``); the story record itself is written in the engine's commit, so that two
articles joining one story at once both count.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace

from services.dedupe.buckets import Query
from services.dedupe.decide import Decision, State
from services.dedupe.stories import (
    Await,
    Join,
    Member,
    NewStory,
    Story,
    StoryOutcome,
    judge_story_batch,
    opened,
)
from services.dedupe.story_index import MemberFiling, StoryIndex
from services.dedupe.terms import counting_batch, salient_terms, term_counts
from services.dedupe.turns import in_turns
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


@dataclass(frozen=True)
class Unplaced:
    """A canonical article filed in the story index that waits for others to settle."""

    article: RawArticle
    filing: MemberFiling
    counted: tuple[str, ...]
    waits: Await
    found: tuple[str, ...]  # the candidate ids it was last judged among

    @property
    def leaves(self) -> bool:
        """Told to withdraw, and not withdrawn yet."""
        return self.waits.withdraw and self.filing.member.state is not State.WITHDRAWN

    @property
    def known(self) -> tuple[str, ...] | None:
        """The candidates to judge it among again; None: look in the index again."""
        return None if self.filing.member.state is State.WITHDRAWN else self.found

    def withdrawn(self) -> Unplaced:
        member = replace(self.filing.member, state=State.WITHDRAWN)
        return replace(self, filing=replace(self.filing, member=member))

    def may_go_on(self, states: Mapping[str, State | None]) -> bool:
        """Whether what it waits for happened: an earlier article settled in its story (or
        left the index), a later one stopped contending."""
        if self.waits.withdraw:
            return all(states[i] in (State.CANONICAL, None) for i in self.waits.article_ids)
        return all(states[i] is not State.CONTENDING for i in self.waits.article_ids)


def _placement(
    outcome: NewStory | Join, article: RawArticle, filing: MemberFiling, counted: tuple[str, ...]
) -> Placement:
    story_id = outcome.story_id if isinstance(outcome, Join) else article.id
    return Placement(story_id, filing.member, filing.expiry_ms, counted)


class StoryPlacer:
    def __init__(self, index: StoryIndex, threshold: float, timeout_s: float) -> None:
        self.index = index
        self.threshold = threshold
        self.timeout_s = timeout_s

    async def terms_all(self, articles: Sequence[RawArticle]) -> list[Terms]:
        """Only canonical articles need theirs: a duplicate joins its canonical's story."""
        counted = [term_counts(a.text, a.title) async for a in in_turns(articles)]
        every = sorted({term for counts, _ in counted for term in counts})
        frequencies, documents = counting_batch(
            *await self.index.frequencies(every, _now_ms()), [counts for counts, _ in counted]
        )
        return [
            Terms(salient_terms(counts, named, frequencies, documents), tuple(sorted(counts)))
            async for counts, named in in_turns(counted)
        ]

    async def place_all(
        self, articles: Sequence[tuple[RawArticle, Decision]]
    ) -> list[Placement | Unplaced]:
        """Place many decided articles at once, but for those that must wait for others
        (``rounds`` places them)."""
        canonical = [n for n, (_, d) in enumerate(articles) if d.is_canonical]
        terms = await self.terms_all([articles[n][0] for n in canonical])
        terms_of = dict(zip(canonical, terms, strict=True))
        decided = [(a, d, terms_of.get(n, NO_TERMS)) for n, (a, d) in enumerate(articles)]
        now = _now_ms()
        placed: list[Placement | Unplaced | None] = [None] * len(decided)
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
        stories_of = await self.index.stories_of(sorted(set(canonical_of.values())), now)
        for n, canonical_id in canonical_of.items():
            placed[n] = Placement(stories_of[canonical_id] or canonical_id)
        live = [n for n, ok in zip(filings, filed, strict=True) if ok]
        judged = await self._judge([(decided[n][0], filings[n], None) for n in live])
        for n, (outcome, found_ids) in zip(live, judged, strict=True):
            article, filing, counted = decided[n][0], filings[n], decided[n][2].all
            if isinstance(outcome, Await):
                placed[n] = Unplaced(article, filing, counted, outcome, found_ids)
            else:
                placed[n] = _placement(outcome, article, filing, counted)
        done = [p for p in placed if p is not None]
        assert len(done) == len(placed), "every article placed or waiting"
        return done

    async def rounds(
        self, unplaced: Sequence[Unplaced], poll: Poll
    ) -> AsyncIterator[dict[int, Placement]]:
        """Place the articles that wait: each round waits until some of them have what they
        wait for, then judges those together. Yields what each round placed, by position.

        A contender judges again among the candidates it found before. An article filed in
        the index since then found it there in its own look, still contending, and waits for
        it or withdraws for it (``judge_story``): it cannot settle first, so a new look would
        only add what must wait anyway. A withdrawn article looks again: a later-filed but
        earlier-ingested article that found it withdrawn does not wait for it, so it is the one
        that has to wait.
        """
        waiting = dict(enumerate(unplaced))
        deadline = time.monotonic() + self.timeout_s
        while waiting:
            leaving = {n: u for n, u in waiting.items() if u.leaves}
            if leaving:
                await self.index.withdraw_all(
                    [(u.filing.member, u.filing.expiry_ms) for u in leaving.values()]
                )
                waiting |= {n: u.withdrawn() for n, u in leaving.items()}
            states = await self._wait(waiting, poll, deadline)
            again = sorted(
                (n for n, u in waiting.items() if u.may_go_on(states)),
                key=lambda n: waiting[n].article.id,
            )
            judged = await self._judge([(waiting[n].article, waiting[n].filing, waiting[n].known)
                                        for n in again])  # fmt: skip
            placed = {}
            for n, (outcome, found) in zip(again, judged, strict=True):
                if isinstance(outcome, Await):
                    waiting[n] = replace(waiting[n], waits=outcome, found=found)
                else:
                    u = waiting.pop(n)
                    placed[n] = _placement(outcome, u.article, u.filing, u.counted)
            if placed:
                yield placed

    async def _wait(
        self, waiting: Mapping[int, Unplaced], poll: Poll, deadline: float
    ) -> dict[str, State | None]:
        """Wait until one of ``waiting`` may go on; the states of the articles they wait for."""
        ids = sorted({i for u in waiting.values() for i in u.waits.article_ids})
        states: dict[str, State | None] = {}

        async def settled() -> bool:
            states.update(await self.index.states(ids))
            return any(u.may_go_on(states) for u in waiting.values())

        await poll(settled, deadline, f"story contenders {', '.join(ids)} did not settle")
        return states

    async def _judge(
        self, filed: Sequence[tuple[RawArticle, MemberFiling, tuple[str, ...] | None]]
    ) -> list[tuple[StoryOutcome, tuple[str, ...]]]:
        """Judge articles filed in the story index together, in ingest order, each among the
        candidates its buckets hold now or, if given, the candidate ids it found before; with
        each outcome, the ids it was judged among."""
        now = _now_ms()
        asking = [n for n, (_, _, known) in enumerate(filed) if known is None]
        queries = [Query(filed[n][0].id, filed[n][1].buckets, id_time_ms(filed[n][0].id))
                   for n in asking]  # fmt: skip
        looked = dict(zip(asking, await self.index.candidate_ids(queries, now), strict=True))
        found = [known if known is not None else tuple(looked[n])
                 for n, (_, _, known) in enumerate(filed)]  # fmt: skip
        candidates = await self.index.candidates_among(found, now)
        stories = await self.index.stories(
            sorted({c.story_id for members in candidates for c in members if c.story_id})
        )
        outcomes = judge_story_batch(
            [(f.member, members, event_ms(a))
             for (a, f, _), members in zip(filed, candidates, strict=True)],
            stories, self.threshold, self.index.quiet_ms,
        )  # fmt: skip
        return list(zip(outcomes, found, strict=True))

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
