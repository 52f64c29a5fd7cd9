import pytest

from services.ingest.urls import canonical_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://Example.COM/News/Story", "https://example.com/News/Story"),
        ("https://example.com/story/", "https://example.com/story"),
        ("https://example.com/story#comments", "https://example.com/story"),
        ("https://example.com:443/story", "https://example.com/story"),
        ("http://example.com:8080/story", "http://example.com:8080/story"),
        ("https://example.com/s?utm_source=x&utm_medium=y&id=7", "https://example.com/s?id=7"),
        ("https://example.com/s?fbclid=abc", "https://example.com/s"),
        ("https://example.com/s?b=2&a=1", "https://example.com/s?b=2&a=1"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_tracking_variants_of_one_url_are_equal() -> None:
    a = canonical_url("https://news.example/a/?utm_campaign=feed#top")
    b = canonical_url("HTTPS://NEWS.example/a?fbclid=123")
    assert a == b
