"""Every message and API body that crosses a service boundary, defined once.

Streams carry these models as plain JSON (see ``shared.streams``), so a subscriber needs no
FastStream and no Python: a JSON parser reads them.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

MAX_TEXT_CHARS = 2 * 1024 * 1024


def _http_url(value: str) -> str:
    from urllib.parse import urlsplit

    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    return value


def _storable(value: str) -> str:
    """Text every store and subscriber can hold: PostgreSQL refuses NUL, UTF-8 lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (a lone surrogate escape is not)") from None
    return value


def _feed_date(value: object) -> object:
    """Feeds date their items in RFC 3339 (Atom, and ISO 8601 in general, which pydantic reads)
    or RFC 2822 (RSS: ``Tue, 18 Feb 2025 10:00:00 GMT``), read here."""
    if not isinstance(value, str) or value.strip()[:4].isdigit():
        return value
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise ValueError(
            "must be an RFC 3339 date (2025-02-18T10:00:00+01:00) "
            "or an RFC 2822 date (Tue, 18 Feb 2025 10:00:00 GMT)"
        ) from None


CleanStr = Annotated[str, AfterValidator(_storable)]
HttpUrlStr = Annotated[CleanStr, Field(max_length=4096), AfterValidator(_http_url)]


class ArticleIn(BaseModel):
    """What a client posts to ``POST /articles``: text or HTML, everything else optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    url: HttpUrlStr | None = None
    title: Annotated[CleanStr, Field(max_length=2000)] | None = None
    text: Annotated[CleanStr, Field(max_length=MAX_TEXT_CHARS)] | None = None
    html: Annotated[CleanStr, Field(max_length=MAX_TEXT_CHARS)] | None = None
    source: Annotated[CleanStr, Field(max_length=200)] | None = None
    published_at: Annotated[datetime | None, BeforeValidator(_feed_date)] = None
    language: Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] | None = None

    @model_validator(mode="after")
    def _needs_content(self) -> ArticleIn:
        if self.text is None and self.html is None:
            raise ValueError("one of 'text' or 'html' is required")
        if self.text is not None and not self.text.strip():
            raise ValueError("'text' is empty or only whitespace")
        if self.html is not None and self.text is None and not self.html.strip():
            raise ValueError("'html' is empty or only whitespace")
        return self


class Accepted(BaseModel):
    id: str
    status: Literal["queued"] = "queued"


class BatchAccepted(BaseModel):
    ids: list[str]
    status: Literal["queued"] = "queued"


class RawArticle(BaseModel):
    """An accepted article on ``articles:raw``: text already extracted, URL canonicalised."""

    # A ULID: services order articles by it, so a foreign producer's bad id is refused on read.
    id: Annotated[str, Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")]
    url: CleanStr | None = None
    canonical_url: CleanStr | None = None
    title: CleanStr | None = None
    source: CleanStr | None = None
    language: str | None = None
    published_at: AwareDatetime | None = None
    ingested_at: AwareDatetime
    # Checked again here: other producers may write to the stream without passing ingest.
    text: CleanStr
    content_sha256: str


Reason = Literal["exact", "near", "update"]
Measure = Literal["jaccard", "containment", "pair_jaccard", "pair_containment"]


class Decision(BaseModel):
    """The dedupe decision on one article: canonical, or a duplicate and why.

    For a duplicate: ``reason`` says why (``exact`` text, ``near`` text by ``measure`` at
    ``similarity``, or ``update``: a new version posted under the same canonical URL),
    ``matched_id`` the article it matched, ``canonical_id`` the canonical article that one
    belongs to (often the same).
    """

    status: Literal["canonical", "duplicate"]
    canonical_id: str
    similarity: float | None = None
    reason: Reason | None = None
    measure: Measure | None = None
    matched_id: str | None = None

    @property
    def is_canonical(self) -> bool:
        return self.status == "canonical"


class Verdict(RawArticle, Decision):
    """An article with its decision, published once to the canonical or duplicates stream.
    ``story_id`` groups coverage of one event (a duplicate is in its canonical article's story);
    ``story_terms`` are the story's top terms after this article."""

    story_id: str
    story_terms: list[str] = Field(default_factory=list)
    decided_at: AwareDatetime


class DeadLetter(BaseModel):
    """A message that kept failing, parked on ``articles:dead`` with what went wrong."""

    stream: str
    group: str
    message_id: str
    payload: str
    error: str
    deliveries: int
    failed_at: AwareDatetime
