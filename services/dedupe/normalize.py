"""Text normalisation: the typographic and layout differences republishing introduces vanish.

Two copies of one wire story differ in quotes („…“ vs "…"), dashes, soft hyphens, words split
across line breaks, umlaut spelling (ä vs ae) and whitespace; after ``normalize`` they do not.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

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


Offsets = npt.NDArray[np.int64]
# The bytes ``\w`` matches under ASCII rules: letters, digits and the underscore.
_ASCII_WORD_BYTE = np.zeros(256, dtype=bool)
for _byte in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_":
    _ASCII_WORD_BYTE[_byte] = True
_SPACE = ord(" ")


@dataclass(frozen=True)
class JoinedWords:
    """The words of a text joined by single spaces, in UTF-8, and where each one starts and
    ends: what shingles are hashed from, without a string object per word or per shingle."""

    data: bytes  # b" ".join(words)
    starts: Offsets
    ends: Offsets

    def __len__(self) -> int:
        return len(self.starts)


def joined_words(text: str) -> JoinedWords:
    """``words(text)`` joined. ASCII text (most English news) is split by array operations on
    its bytes, several times faster than a regular expression makes a string of each word."""
    folded = _folded(text)
    if not folded.isascii():
        found = _WORD.findall(folded)
        joined = " ".join(found)
        data = joined.encode()
        if len(data) == len(joined):
            lengths = np.fromiter(map(len, found), dtype=np.int64, count=len(found))
        else:
            lengths = np.fromiter((len(w.encode()) for w in found), np.int64, len(found))
        return JoinedWords(data, *_spans(lengths))
    # A space either side, so that every word has a non-word byte before and after it.
    raw = np.frombuffer(f" {folded} ".encode(), dtype=np.uint8)
    inside = _ASCII_WORD_BYTE.take(raw)
    edges = np.flatnonzero(inside[1:] != inside[:-1]) + 1
    ends = edges[1::2]
    # Each word and the byte after it, which becomes its separating space; the last word's
    # is not kept.
    inside[ends[:-1]] = True
    kept = raw[inside]
    starts, ends = _spans(ends - edges[0::2])
    kept[starts[1:] - 1] = _SPACE
    return JoinedWords(kept.tobytes(), starts, ends)


def _spans(lengths: Offsets) -> tuple[Offsets, Offsets]:
    """Where words of these byte lengths start and end when joined by single spaces."""
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    return starts, starts + lengths
