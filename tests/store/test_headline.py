"""What a reader knows an article by."""

from __future__ import annotations

import pytest

from services.store.headline import MAX_CHARS, headline


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("  Rubio  trifft\nLawrow ", "Text.", "Rubio trifft Lawrow"),
        (None, "\n  Erster Satz. Zweiter Satz.", "Erster Satz."),
        ("", "Wer kommt? Niemand.", "Wer kommt?"),
        (None, "„Tolle Gespräche!“, so Trump. Dann mehr.", "„Tolle Gespräche!“, so Trump."),
        (
            None,
            "Kein Satzende in der ersten Zeile\nZweite Zeile.",
            "Kein Satzende in der ersten Zeile",
        ),
        (None, "Am 3. Februar 2025 geschah es. Dann mehr.", "Am 3. Februar 2025 geschah es."),
    ],
)
def test_a_headline_is_the_title_or_the_first_sentence(
    title: str | None, text: str, expected: str
) -> None:
    assert headline(title, text) == expected


def test_a_long_first_sentence_is_cut_between_words() -> None:
    shown = headline(None, "Wort " * 100)
    assert len(shown) <= MAX_CHARS and shown.endswith("Wort …")
