"""The read API's response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from shared.models import Reason


class StoredArticle(BaseModel):
    """A stored article. For a duplicate, the explanation of its verdict: ``reason``, the
    ``measure`` that matched and its value (``similarity``), the article it matched
    (``matched_id``) and the canonical article that one belongs to (``canonical_id``)."""

    id: str
    url: str | None
    canonical_url: str | None
    title: str | None
    headline: str  # its title, or its first sentence
    source: str | None
    language: str | None
    published_at: datetime | None
    ingested_at: datetime
    text: str
    status: Literal["canonical", "duplicate"]
    canonical_id: str
    similarity: float | None
    reason: Reason | None
    measure: str | None
    matched_id: str | None
    story_id: str
    story_terms: list[str]
    version_id: str


class DuplicateOut(BaseModel):
    id: str
    url: str | None
    title: str | None
    source: str | None
    ingested_at: datetime
    similarity: float | None
    reason: str
    measure: str | None
    matched_id: str | None


class VersionOut(BaseModel):
    version_id: str
    url: str | None
    title: str | None
    ingested_at: datetime
    text: str
    content_sha256: str


class VersionsPage(BaseModel):
    article_id: str
    versions: list[VersionOut]


class DuplicatesPage(BaseModel):
    canonical_id: str
    duplicates: list[DuplicateOut]


class ArticlesPage(BaseModel):
    items: list[StoredArticle]
    next_cursor: str | None


class Stats(BaseModel):
    articles: int
    canonical: int
    duplicates: int
    duplicates_by_reason: dict[str, int]
    updates: int


class StorySummary(BaseModel):
    story_id: str
    headline: str  # of its earliest canonical article: its title, or its first sentence
    first_seen: datetime
    last_seen: datetime
    articles: int  # canonical articles: the different pieces of coverage
    duplicates: int
    outlets: int  # different sources among all its articles, duplicates included
    top_terms: list[str]


class StoriesPage(BaseModel):
    items: list[StorySummary]


class StoryArticle(BaseModel):
    id: str
    url: str | None
    title: str | None
    headline: str  # its title, or its first sentence
    source: str | None
    ingested_at: datetime
    duplicates: list[DuplicateOut]


class StoryDetail(StorySummary):
    coverage: list[StoryArticle]  # its canonical articles, oldest first, with their duplicates


class SegmentOut(BaseModel):
    text: str
    changed: bool


class CompareSide(BaseModel):
    id: str
    title: str | None
    headline: str
    source: str | None
    status: str
    segments: list[SegmentOut]


class Comparison(BaseModel):
    """Two stored articles side by side; ``changed`` marks the passages that differ."""

    left: CompareSide
    right: CompareSide
