"""Text normalisation: the typographic and layout differences republishing introduces vanish.

Two copies of one wire story differ in quotes („…“ vs "…"), dashes, soft hyphens, words split
across line breaks, umlaut spelling (ä vs ae) and whitespace; after ``normalize`` they do not.
"""

from __future__ import annotations

import re
import unicodedata

_SOFT_HYPHEN = "\u00ad"
# "Verhand-\nlungen" is one word split by layout; "Russland-\nUkraine" is a compound whose
# hyphen stays. A lower-case continuation is what tells them apart.
# Written to start with its literal hyphen, which the regex engine scans for quickly; the word
# character before it is checked in ``_rejoin``.
_HYPHEN_BREAK = re.compile(r"-[ \t]*\r?\n[ \t]*(?=\w)")
_WORD_CHAR = re.compile(r"\w")
_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
# The same words in ASCII text (most English news), found a fifth faster: no Unicode tables.
_ASCII_WORD = re.compile(r"\w+", re.ASCII)

_FOLD = {
    "„": '"', "“": '"', "”": '"', "‟": '"', "«": '"', "»": '"', "″": '"',
    "‚": "'", "‘": "'", "’": "'", "‛": "'", "‹": "'", "›": "'", "′": "'",
    "–": "-", "—": "-", "‒": "-", "―": "-", "−": "-", "‐": "-", "‑": "-",
    "ä": "ae", "ö": "oe", "ü": "ue",
}  # fmt: skip
# A character class scans a text many times faster than ``str.translate`` looks up each of its
# characters, and most texts hold few of these.
_FOLDED = re.compile("[" + "".join(_FOLD) + "]")


def _rejoin(match: re.Match[str]) -> str:
    text, start = match.string, match.start()
    if start == 0 or not _WORD_CHAR.match(text, start - 1):
        return match.group(0)  # a dash at a line end, not a hyphenated word
    return "" if text[match.end()].islower() else "-"


def _fold(match: re.Match[str]) -> str:
    return _FOLD[match.group(0)]


def _folded(text: str) -> str:
    """The text normalised but for its whitespace."""
    text = unicodedata.normalize("NFKC", text).replace(_SOFT_HYPHEN, "")
    text = _HYPHEN_BREAK.sub(_rejoin, text)
    text = text.casefold()  # casefold also turns ß into ss
    return text if text.isascii() else _FOLDED.sub(_fold, text)


def normalize(text: str) -> str:
    return _WHITESPACE.sub(" ", _folded(text)).strip()


def tokens(normalized: str) -> list[str]:
    """Words only: punctuation and layout carry no evidence of sameness."""
    return (_ASCII_WORD if normalized.isascii() else _WORD).findall(normalized)


def words(text: str) -> list[str]:
    """``tokens(normalize(text))``, without collapsing the whitespace the words drop anyway."""
    return tokens(_folded(text))
