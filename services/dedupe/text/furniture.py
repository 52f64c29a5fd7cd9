"""Boilerplate lines: what an outlet wraps around every article, which is not the article.

Two signals find it. Lines that read like page furniture in any outlet ("Mehr zum Thema", "Quelle:
dpa", cookie and newsletter prompts, share buttons) match a fixed list of patterns. Lines that
recur at the top or bottom of many articles of one source (a site header, a signature, a legal
footer) are learned from the stream: the judge counts, per source, in how many articles each
edge line appeared (``judge.learned``), and a line seen in enough of them is dropped. Both run
before normalisation, so republishing a wire story with new furniture leaves the shingles of
the story itself.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from functools import lru_cache

import xxhash

# Lines are looked at only at the top and bottom of an article, where outlets put furniture;
# the body of a wire story is never learned as boilerplate however often it is republished.
HEAD_LINES = 3
TAIL_LINES = 6
MAX_LINE_CHARS = 200  # furniture is a short line
# An edge line is learned up to this length (NEWSDEDUP_BOILERPLATE_LINE_CHARS): a legal footer
# or an outlet's signature runs to a few hundred characters.
EDGE_LINE_CHARS = 400

_PATTERNS = [
    # German
    r"mehr zum thema\b.*",
    r"(lesen|sehen|hoeren|hören) sie (auch|mehr)\b.*",
    r"(auch|ebenfalls) interessant\b.*",
    r"quelle ?: ?.{0,60}",
    r"\(?(dpa|afp|ap|reuters|epd|kna|sid)(/[a-z]+)*\)?[ .]*",
    r"(mit )?material (von|der|des) .{0,60}",
    r"kommentare? \(\d+\)|\d+ kommentare?|(diskutieren sie mit|jetzt kommentieren"
    r"|zu den kommentaren|kommentar schreiben)\b.{0,80}",
    r"(teilen|drucken|versenden|merken|anzeige|werbung)( ?[|/·•-] ?\w+)*\.?",
    r"(foto|bild|grafik)s? ?: ?.{0,80}",
    r"(startseite|home)( ?[>›»/|] ?.{0,40})+",
    r"(stand|aktualisiert|veroeffentlicht|veröffentlicht)( am)? ?:? ?\d.{0,40}",
    r"(aktualisiert|veroeffentlicht|veröffentlicht) vor .{0,30}",
    r"lesezeit:? ?\d+ ?(min|minuten)\.?",
    r"newsletter (abonnieren|bestellen)\b.{0,60}|alle rechte vorbehalten\.?",
    r"(ein )?(artikel|beitrag) (von|aus) .{0,60}",
    # English
    r"(read|see) (more|also)\b.{0,100}",
    r"related( stories| articles| coverage)?:.{0,100}|more on this( story)?:.{0,100}",
    r"(share|print|email|tweet)( ?[|/·•-] ?\w+)*\.?",
    r"(sign up|subscribe)\b.{0,120}",
    r"(advertisement|sponsored|click here)\b.{0,80}",
    r"\d+ min(ute)? read|updated \d+ (minutes?|hours?) ago",
    r"(photo|image)( credit)?s? ?: ?.{0,80}",
    r"(source|via) ?: ?.{0,60}",
    r"comments? \(\d+\)|\d+ comments?|(leave a comment|join the (conversation|discussion)"
    r"|show comments)\b.{0,80}",
    r"copyright\b.{0,120}|©.{0,120}|all rights reserved\.?",
]
# Patterns whose phrase may stand anywhere in the first words. A regular expression tries each
# of those starting points on every line, so these run only on lines holding one of the words
# every such phrase contains.
_ANYWHERE = [
    r".{0,80}\b(wir (verwenden|nutzen) cookies|(diese|unsere) (web)?seite (verwendet|nutzt) "
    r"cookies|cookie-?einstellungen|datenschutzerklaerung|datenschutzerklärung)\b.{0,120}",
    r".{0,60}\b(unseren|unser|den|zum) newsletter\b.{0,100}",
    r".{0,80}\b(we use cookies|this (web)?site uses cookies|cookie (settings|policy)"
    r"|privacy policy)\b.{0,120}",
]
_ANYWHERE_WORDS = ("cookie", "datenschutzerkl", "newsletter", "privacy policy")
_FURNITURE = re.compile("|".join(f"(?:{p})" for p in _PATTERNS))
_FURNITURE_ANYWHERE = re.compile("|".join(f"(?:{p})" for p in _ANYWHERE))


@lru_cache(maxsize=1024)
def _line_form(line: str) -> str:
    """Cached: an article's edge lines are looked at up to four times, and a source's
    recurring lines in every article of that source."""
    return " ".join(unicodedata.normalize("NFKC", line).split()).casefold()


# What str.split() splits on below 128: bytes.translate drops them without a string per word.
_ASCII_WHITESPACE = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "


def _surely_too_long(line: str, limit: int) -> bool:
    """A paragraph: even NFKC's compositions leave it far longer than ``limit``, so its form
    need not be computed."""
    if len(line) <= 4 * limit:
        return False
    if line.isascii():
        visible = len(line.encode().translate(None, _ASCII_WHITESPACE))
    else:
        visible = len("".join(line.split()))
    return visible > 4 * limit


def is_furniture(line: str) -> bool:
    """A short line that reads like page furniture, whatever the outlet."""
    if _surely_too_long(line, MAX_LINE_CHARS):
        return False
    form = _line_form(line)
    if len(form) > MAX_LINE_CHARS:
        return False
    if _FURNITURE.fullmatch(form) is not None:
        return True
    return any(w in form for w in _ANYWHERE_WORDS) and bool(_FURNITURE_ANYWHERE.fullmatch(form))


def line_key(line: str) -> bytes:
    """8 bytes per edge line: the per-source counts stay small however many articles arrive."""
    return xxhash.xxh3_64_digest(_line_form(line).encode())


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def edge_lines(text: str, limit: int = EDGE_LINE_CHARS) -> list[str]:
    """The lines whose recurrence is counted: those up to ``limit`` characters at the top and
    bottom of the text."""
    lines = _lines(text)
    edge = lines[:HEAD_LINES] + lines[max(HEAD_LINES, len(lines) - TAIL_LINES) :]
    return [
        line
        for line in edge
        if not _surely_too_long(line, limit) and len(_line_form(line)) <= limit
    ]


def edge_keys(text: str, limit: int = EDGE_LINE_CHARS) -> list[bytes]:
    return list(dict.fromkeys(line_key(line) for line in edge_lines(text, limit)))


def strip_boilerplate(
    text: str, recurring: Collection[bytes] = (), limit: int = EDGE_LINE_CHARS
) -> str:
    """The text without furniture lines and without edge lines known to recur in its source.

    If everything would go (a very short text made only of such lines), the text stays as it is:
    an article is never reduced to nothing.
    """
    lines = text.splitlines()
    edge = set(edge_lines(text, limit)) if recurring else set()
    kept = [
        line
        for line in lines
        if not (line.strip() and is_furniture(line))
        and not (line in edge and line_key(line) in recurring)
    ]
    result = "\n".join(kept)
    return result if result.strip() else text


# A site's consent and cookie notice, run into the article's text where a scraper flattened the
# page: a sentence with two of these stems is the site talking about itself, and then so is
# every sentence with one.
_CONSENT_STEMS = (
    "cookie", "datenschutz", "datenverarbeitung", "website", "webseite", "akzeptier",
    "einwillig", "zustimm", "werbung", "persönlichen informationen", "personenbezogen",
    "privacy", "consent", "personal data", "personal information", "advertis", "accept",
)  # fmt: skip
_CONSENT_CUES = ("cookie", "datenschutz", "privacy", "consent")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[a-zäöü][.!?])(?=[A-ZÄÖÜ])")


def _consent_stems(folded: str) -> int:
    return sum(stem in folded for stem in _CONSENT_STEMS)


def without_consent_notice(text: str) -> str:
    """The text without the sentences of a consent or cookie notice; the text as it is when it
    names no cookie, privacy or consent (most articles: one scan of the text). A line break ends
    a sentence: a headline without a full stop stays when the notice follows it."""
    folded = text.casefold()
    if not any(cue in folded for cue in _CONSENT_CUES):
        return text
    lines = [_SENTENCE.split(line) for line in text.split("\n")]
    stems = [[_consent_stems(s.casefold()) for s in line] for line in lines]
    if max(max(line) for line in stems) < 2:
        return text
    kept = (
        " ".join(s for s, n in zip(line, counts, strict=True) if n == 0)
        for line, counts in zip(lines, stems, strict=True)
    )
    return "\n".join(line for line in kept if line)
