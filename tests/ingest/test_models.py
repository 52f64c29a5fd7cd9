from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.ingest.prepare import NoArticleText, prepare
from shared.models import ArticleIn


def _error_fields(exc: ValidationError) -> list[tuple[object, ...]]:
    return [tuple(e["loc"]) for e in exc.errors()]


def test_text_or_html_is_required() -> None:
    with pytest.raises(ValidationError, match="one of 'text' or 'html' is required"):
        ArticleIn(title="only a title")


def test_whitespace_only_text_is_rejected() -> None:
    with pytest.raises(ValidationError, match="empty or only whitespace"):
        ArticleIn(text="  \n\t ")


def test_non_http_url_is_rejected_naming_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        ArticleIn(text="x", url="ftp://example.com/a")
    assert _error_fields(info.value) == [("url",)]


def test_published_at_must_be_a_date() -> None:
    with pytest.raises(ValidationError) as info:
        ArticleIn(text="x", published_at="next tuesday")  # type: ignore[arg-type]
    assert _error_fields(info.value) == [("published_at",)]


def test_nul_characters_are_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        ArticleIn(text="a\x00b")
    assert _error_fields(info.value) == [("text",)]


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        ArticleIn.model_validate({"text": "x", "body": "y"})
    assert _error_fields(info.value) == [("body",)]


ID = "01JMC4ZQ3B8M8VJ2Q4N6S7T8V9"
NOW = datetime(2025, 2, 18, 12, 0, tzinfo=UTC)


def test_prepare_extracts_html_and_canonicalises_the_url() -> None:
    article = ArticleIn(
        html="<title>T</title><body><p>Hallo Welt</p></body>",
        url="https://Example.com/a/?utm_source=x",
    )
    raw = prepare(article, ID, NOW)
    assert (raw.text, raw.title, raw.canonical_url) == ("Hallo Welt", "T", "https://example.com/a")


def test_prepare_keeps_a_given_title_over_the_html_one() -> None:
    raw = prepare(ArticleIn(html="<title>T</title><p>x</p>", title="Mine"), ID, NOW)
    assert raw.title == "Mine"


def test_prepare_refuses_html_without_article_text() -> None:
    with pytest.raises(NoArticleText):
        prepare(ArticleIn(html="<nav>menu</nav><script>x</script>"), ID, NOW)


def test_naive_publication_time_is_taken_as_utc() -> None:
    raw = prepare(ArticleIn(text="x", published_at=datetime(2025, 2, 18, 9, 30)), ID, NOW)
    assert raw.published_at == datetime(2025, 2, 18, 9, 30, tzinfo=UTC)


def test_content_hash_is_the_sha256_of_the_text() -> None:
    import hashlib

    raw = prepare(ArticleIn(text="Hallo"), ID, NOW)
    assert raw.content_sha256 == hashlib.sha256(b"Hallo").hexdigest()
