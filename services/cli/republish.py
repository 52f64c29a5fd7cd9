"""Republished copies of an article, made the way outlets make them.

The demo shows them being caught and the end-to-end tests use them as known duplicates: a new
site header and footer around the same copy, lines re-wrapped with words hyphenated across the
breaks, and exact copies under another URL.
"""

from __future__ import annotations

import random
import textwrap

HEADERS = (
    "Startseite > Politik > Ausland\nLesezeit: 4 Min.\nWir verwenden Cookies, um Ihnen ein "
    "besseres Nutzungserlebnis zu bieten. Mit der Nutzung stimmen Sie zu.",
    "Home | News | Welt\nAktualisiert vor 2 Stunden\nAnzeige",
)
FOOTERS = (
    "Quelle: dpa\nMehr zum Thema\nKommentare (12)\nDiesen Artikel teilen: Facebook | X | E-Mail",
    "Copyright 2025 Nachrichten Online. Alle Rechte vorbehalten.\nNewsletter abonnieren",
)


def _hyphenate_line_ends(lines: list[str], rng: random.Random) -> list[str]:
    """Split the last word of some lines across the break, as print layouts do."""
    out: list[str] = []
    carry = ""
    for line in lines:
        line = carry + line
        carry = ""
        words = line.split(" ")
        last = words[-1]
        if len(last) >= 8 and last.isalpha() and last[1:].islower() and rng.random() < 0.5:
            cut = rng.randint(3, len(last) - 3)
            words[-1] = last[:cut] + "-"
            carry = last[cut:] + " "
        out.append(" ".join(words))
    if carry:
        out.append(carry.strip())
    return out


def rewrap(text: str, width: int, rng: random.Random) -> str:
    paragraphs = [p for p in text.split("\n") if p.strip()]
    wrapped = []
    for paragraph in paragraphs:
        lines = textwrap.wrap(paragraph, width=width, break_long_words=False)
        wrapped.append("\n".join(_hyphenate_line_ends(lines, rng)))
    return "\n\n".join(wrapped)


def republished(text: str, seed: int) -> str:
    """The same copy with another outlet's furniture and layout."""
    rng = random.Random(seed)
    header = HEADERS[seed % len(HEADERS)]
    footer = FOOTERS[seed % len(FOOTERS)]
    return f"{header}\n\n{rewrap(text, rng.randint(45, 70), rng)}\n\n{footer}"
