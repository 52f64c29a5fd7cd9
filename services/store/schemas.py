"""The read API's response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from shared.models import Reason


class StoredArticle(BaseModel):
    id: str
    url: str | None
    canonical_url: str | None
    title: str | None
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
    story_id: str


class DuplicateOut(BaseModel):
    id: str
    url: str | None
    title: str | None
    source: str | None
    ingested_at: datetime
    similarity: float | None
    reason: str
    measure: str | None


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
