import pytest

from services.dedupe.text.furniture import (
    MAX_LINE_CHARS,
    _surely_too_long,
    edge_keys,
    is_furniture,
    strip_boilerplate,
    without_consent_notice,
)

BODY = "Die Gespräche zwischen den Delegationen dauerten in Riad mehr als vier Stunden."


@pytest.mark.parametrize(
    "line",
    ["Mehr zum Thema: Ukraine", "Quelle: dpa", "(dpa/AFP)", "Read more: Ukraine talks",
     "Teilen | Drucken", "© 2025 Example Media", "Lesezeit: 3 Minuten"],
)  # fmt: skip
def test_a_line_of_page_furniture_is_recognised(line: str) -> None:
    assert is_furniture(line)


@pytest.mark.parametrize(
    "line",
    ["Diese Seite verwendet Cookies, um Ihnen das beste Erlebnis zu bieten.",
     "Abonnieren Sie jetzt unseren Newsletter für den Morgen",
     "By continuing you accept that we use cookies on this site."],
)  # fmt: skip
def test_a_cookie_or_newsletter_prompt_is_furniture_wherever_its_phrase_stands(line: str) -> None:
    assert is_furniture(line)


def test_a_sentence_of_the_article_is_no_furniture() -> None:
    assert not is_furniture(BODY)


def test_a_paragraph_mentioning_cookies_is_no_furniture() -> None:
    paragraph = "Cookies are small files, the regulator said. " + BODY * 3
    assert not is_furniture(paragraph)


def test_furniture_lines_are_stripped_and_the_article_kept() -> None:
    text = f"Mehr zum Thema: Ukraine\n{BODY}\nQuelle: dpa\nTeilen | Drucken"
    assert strip_boilerplate(text) == BODY


def test_an_edge_line_recurring_in_the_source_is_stripped() -> None:
    text = f"Das Morgenblatt aus Neustadt\n{BODY}"
    recurring = set(edge_keys("Das Morgenblatt aus Neustadt\nanderer Text"))
    assert strip_boilerplate(text, recurring) == BODY


def test_a_text_of_furniture_alone_stays_as_it_is() -> None:
    assert strip_boilerplate("Quelle: dpa\nTeilen") == "Quelle: dpa\nTeilen"


@pytest.mark.parametrize("gap", [" ", "\t", "\x1c", "\u00a0", "\u2003"])
def test_a_long_line_of_mostly_whitespace_is_not_surely_too_long(gap: str) -> None:
    line = ("ab" + gap * 3) * MAX_LINE_CHARS  # 1,000 characters, 400 of them visible
    assert len(line) > 4 * MAX_LINE_CHARS
    assert not _surely_too_long(line, MAX_LINE_CHARS)


@pytest.mark.parametrize("gap", [" ", "\t", "\u00a0"])
def test_a_line_of_more_than_four_times_the_limit_in_visible_characters_is_too_long(
    gap: str,
) -> None:
    line = ("abcde" + gap) * (MAX_LINE_CHARS + 1)  # 5 visible characters a word
    assert _surely_too_long(line, MAX_LINE_CHARS)


CONSENT = (
    "Wir verwenden auf unserer Webseite Cookies und Analysetechniken, um unsere Webseite zu "
    "verbessern. Weitere Informationen finden Sie in unseren Datenschutzhinweisen."
)


def test_a_consent_notice_run_into_the_text_leaves_it_and_the_article_stays() -> None:
    assert without_consent_notice(f"{BODY} {CONSENT} {BODY}") == f"{BODY} {BODY}"


def test_a_headline_without_a_full_stop_stays_when_a_consent_notice_follows_it() -> None:
    headline = "Einigung über erste schwarz-grüne Regierung in Österreich"
    text = f"{headline}\nOK\n\n{CONSENT}\n\n{BODY}"
    assert without_consent_notice(text) == f"{headline}\nOK\n{BODY}"


def test_one_sentence_about_cookies_is_the_article_not_a_notice() -> None:
    text = f"The regulator fined the site over its cookie banner.\n{BODY}"
    assert without_consent_notice(text) == text
