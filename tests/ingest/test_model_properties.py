"""Properties of the API models over generated bodies (hypothesis): a clean refusal or an
article the stream can carry, nothing in between."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.ingest.prepare import NoArticleText, prepare
from shared.models import ArticleIn, RawArticle
from shared.streams import decode, encode

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=5,
)
FIELDS = ["url", "title", "text", "html", "source", "published_at", "language", "other"]
PLAUSIBLE = {
    "url": st.sampled_from(["https://news.example/a?utm_source=x", "http://x.de", "ftp://x", ""]),
    "text": st.text(max_size=500),
    "html": st.text(max_size=200).map(lambda t: f"<article><p>{t}</p></article>"),
    "published_at": st.sampled_from(["2025-02-18T10:00:00+01:00", "2025-02-18", "gestern", "1"]),
    "language": st.sampled_from(["de", "en-GB", "deutsch", ""]),
}
BODIES = st.dictionaries(
    st.sampled_from(FIELDS),
    st.one_of(JSON_VALUES, *PLAUSIBLE.values()),
    max_size=len(FIELDS),
)


@settings(max_examples=300)
@given(BODIES)
def test_a_body_is_refused_cleanly_or_becomes_an_article_the_stream_carries(
    body: dict[str, object],
) -> None:
    try:
        article = ArticleIn.model_validate_json(json.dumps(body))
    except ValidationError as exc:
        assert all(error["loc"] or error["type"] for error in exc.errors())
        return
    try:
        raw = prepare(article, "01JMC4ZQ3B8M8VJ2Q4N6S7T8V9", datetime.now(UTC))
    except NoArticleText:
        assert article.text is None
        return
    assert decode(RawArticle, encode(raw)) == raw
    assert raw.text.strip()


@given(st.text(min_size=1).filter(str.strip))
def test_any_nonblank_text_without_nul_is_accepted(text: str) -> None:
    if "\x00" in text:
        with pytest.raises(ValidationError):
            ArticleIn(text=text)
    else:
        assert ArticleIn(text=text).text == text
