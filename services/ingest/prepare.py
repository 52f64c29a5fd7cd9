"""From a posted article to the message on ``articles:raw``: text, canonical URL, content hash."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from services.ingest.extract import extract
from services.ingest.urls import canonical_url
from shared.models import ArticleIn, RawArticle


class NoArticleText(ValueError):
    """The posted HTML held no article text once page furniture was removed."""

    field = "html"


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)  # a feed that omits the zone almost always means UTC


def prepare(article: ArticleIn, article_id: str, now: datetime) -> RawArticle:
    title = article.title
    canonical_source = article.url
    if article.text is not None:
        text = article.text
    else:
        assert article.html is not None  # ArticleIn guarantees one of the two
        extracted = extract(article.html, article.url)
        if not extracted.text.strip():
            raise NoArticleText("no article text found in the HTML")
        text = extracted.text
        title = title or extracted.title
        canonical_source = extracted.canonical_link or article.url
    return RawArticle(
        id=article_id,
        url=article.url,
        canonical_url=canonical_url(canonical_source) if canonical_source else None,
        title=title,
        source=article.source,
        language=article.language,
        published_at=_aware(article.published_at),
        ingested_at=now,
        text=text,
        content_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )
