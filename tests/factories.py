"""Messages as the services produce them, for tests that start in the middle of the pipeline."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from shared.ids import new_id
from shared.models import RawArticle, Verdict


def raw_article(text: str, url: str | None = None, **extra: Any) -> RawArticle:
    return RawArticle(
        id=extra.pop("id", None) or new_id(),
        url=url,
        canonical_url=url,
        ingested_at=datetime.now(UTC),
        text=text,
        content_sha256=hashlib.sha256(text.encode()).hexdigest(),
        **extra,
    )


def verdict(
    article: RawArticle,
    canonical_id: str | None = None,
    reason: str | None = None,
    similarity: float | None = None,
    matched_id: str | None = None,
    story_id: str | None = None,
    story_terms: list[str] | None = None,
) -> Verdict:
    duplicate = canonical_id is not None and canonical_id != article.id
    return Verdict(
        **article.model_dump(),
        status="duplicate" if duplicate else "canonical",
        canonical_id=canonical_id or article.id,
        similarity=similarity,
        reason=reason,  # type: ignore[arg-type]
        measure="jaccard" if reason == "near" else None,
        matched_id=matched_id or (canonical_id if duplicate else None),
        story_id=story_id or canonical_id or article.id,
        story_terms=story_terms or [],
        decided_at=datetime.now(UTC),
    )
