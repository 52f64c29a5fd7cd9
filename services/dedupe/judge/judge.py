"""The judge: every article's verdict and story, as a fold over the articles in ingest order.

One judge holds the whole state in memory (``NearIndex``, ``StoryIndex``, ``LearnedLines``)
and is its only writer, so an article is judged against exactly the articles ingested before
it, whatever ran when: the same articles in the same order give the same verdicts, which is
what lets a new judge restore the state and go on where the last one stopped.

For each article, in order:
1. its source's recurring edge lines (learned from earlier articles) leave the text, which is
   then signed again;
2. a canonical URL posted before makes it a new version of the first article posted there;
3. else an earlier canonical article it is similar to makes it a duplicate of that one;
4. else it is canonical, and enters the index;
5. a canonical article joins the open story nearest its salient terms or opens one; a
   duplicate belongs to its canonical article's story.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from services.dedupe.judge.config import JudgeConfig
from services.dedupe.judge.decide import (
    Entry,
    best_match,
    canonical,
    following,
    update_of,
)
from services.dedupe.judge.learned import LearnedLines
from services.dedupe.judge.near_index import Limits, NearIndex, UrlOwner
from services.dedupe.judge.overlap_table import OverlapTable
from services.dedupe.judge.salience import salient_weights
from services.dedupe.judge.stories import Story, best_story, opened
from services.dedupe.judge.story_index import StoryIndex
from services.dedupe.judge.window import Window
from services.dedupe.text.features import TextFeatures
from shared.ids import id_time_ms
from shared.models import Decision


@dataclass(frozen=True)
class Article:
    """What the judge needs of an article besides its text features."""

    article_id: str
    source: str | None
    url: bytes | None  # ``features.url_key`` of its canonical URL
    event_ms: int  # its publication time if given, else its ingest time


@dataclass(frozen=True)
class Judged:
    decision: Decision
    story_id: str
    story_terms: list[str]
    features: TextFeatures  # as judged: without the source's recurring lines


# Signs an article again without the given recurring lines.
Refeature = Callable[[frozenset[bytes]], TextFeatures]


class Judge:
    def __init__(self, config: JudgeConfig) -> None:
        self.thresholds = config.thresholds
        self.story_threshold = config.story_threshold
        self.story_candidates = config.story_candidates
        bands, rows = config.signature.bands_rows
        self.index = NearIndex(bands, rows, Window(config.horizon_ms))
        self.stories = StoryIndex(config.story_quiet_ms)
        self.lines = LearnedLines(config.horizon_ms, config.boilerplate_min_articles)
        self.limits = Limits(config.candidate_postings, config.verify_candidates)
        # Candidates verified and stories weighed so far: each bounded per article.
        self.verified = 0
        self.weighed = 0
        self.placing_s = 0.0  # CPU time spent placing canonical articles in stories
        self._generation = -1

    def judge(
        self, article: Article, features: TextFeatures, refeature: Refeature | None = None
    ) -> Judged:
        """``refeature``: how to sign the article without recurring lines; None when
        ``features`` are already the judged ones (a replay of the journal)."""
        at = id_time_ms(article.article_id)
        self._expire(at)
        if article.source and features.edge_keys:
            recurring = self.lines.recurring(article.source, features.edge_keys, at)
            self.lines.count(article.source, features.edge_keys, at)
            if recurring and refeature is not None:
                features = refeature(recurring)
        entry = Entry(article.article_id, features.content_key, features.words)
        owner = self.index.url_owner(article.url, at) if article.url else None
        if owner is not None:
            same_text = owner.content_key == features.content_key
            owned = canonical(owner.canonical_id)
            decision = update_of(owned, owner.article_id, same_text)
        else:
            keys = self.index.keys(features.signature, features.words)
            windows = OverlapTable(features.words, self.thresholds.shingle_size)
            candidates = self.index.candidates(keys, at, self.limits)
            self.verified += sum(len(batch.ids) for batch in candidates)
            found = best_match(entry, candidates, self.thresholds, windows)
            if found is None:
                decision = canonical(article.article_id)
                self.index.add(entry, at, keys, (windows.shingle_count, windows.pair_count))
            else:
                decision = following(found, canonical(found.article_id))
            if article.url:
                owner = UrlOwner(
                    article.article_id, features.content_key, decision.canonical_id, at
                )
                self.index.claim_url(article.url, owner)
        if not decision.is_canonical:
            story_id = self.stories.story_of(decision.canonical_id) or decision.canonical_id
            story_of_canonical = self.stories.stories.get(story_id)
            terms = story_of_canonical.top_terms() if story_of_canonical else []
            return Judged(decision, story_id, terms, features)
        started = time.process_time()
        story = self._place(article, features, at)
        self.placing_s += time.process_time() - started
        return Judged(decision, story.story_id, story.top_terms(), features)

    def _place(self, article: Article, features: TextFeatures, at: int) -> Story:
        # The article counts itself: weighed by the articles up to and including it, the first
        # articles of a stream weigh their words by what little is known, not all alike.
        term_keys = self.stories.keys(features.terms)
        self.stories.count(term_keys, at)
        frequencies, documents = self.stories.frequencies(term_keys, at)
        terms = salient_weights(
            features.terms, features.counts, features.names, frequencies, documents
        )
        keys = self.stories.keys(terms) if terms else None
        joined = None
        if keys is not None:
            candidates = self.stories.candidates(
                keys, at, self.limits.postings, self.story_candidates
            )
            self.weighed += len(candidates)
            joined = best_story(
                terms, candidates, self.story_threshold, article.event_ms, self.stories.quiet_ms
            )
        shown = dict(zip(features.terms, features.shown, strict=True))
        if joined is None:
            story = opened(article.article_id, terms, article.event_ms, shown)
        else:
            story = joined[0].joined(terms, article.event_ms, shown)
        self.stories.file(article.article_id, at, keys, story)
        return story

    def _expire(self, at: int) -> None:
        """Once per generation of the story window (the shorter one): drop what has left the
        windows."""
        generation = self.stories.window.generation(at)
        if generation <= self._generation:
            return
        self._generation = generation
        self.index.expire(at)
        self.stories.expire(at)
        self.lines.expire(at)
