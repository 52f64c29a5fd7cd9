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
# The same words in ASCII text (most English news), found faster: no Unicode tables.
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
Mask = npt.NDArray[np.bool_]
# Which characters ``\w`` matches (alphanumerics and the underscore, as the regex engine
# decides), for every code point up to U+FFFF; the few above are looked up one by one.
_BMP = 0x10000
_WORD_CHARACTER = np.array([chr(c).isalnum() or c == 0x5F for c in range(_BMP)], dtype=bool)
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
    """``words(text)`` joined, found by array operations on the text's code points: several
    times faster than a regular expression that makes a string of each word."""
    folded = _folded(text)
    ascii_only = folded.isascii()
    # A space either side, so that every word has a non-word character before and after it.
    padded = f" {folded} "
    if ascii_only:
        codes: npt.NDArray[np.uint8] | npt.NDArray[np.uint32] = np.frombuffer(
            padded.encode(), dtype=np.uint8
        )
    else:
        codes = np.frombuffer(padded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    inside = _word_characters(codes)
    edges = np.flatnonzero(inside[1:] != inside[:-1]) + 1
    ends = edges[1::2]
    lengths = ends - edges[0::2]
    # Each word and the character after it, which becomes its separating space; the last
    # word's is not kept.
    inside[ends[:-1]] = True
    kept = codes[inside]
    starts, ends = _spans(lengths)
    kept[starts[1:] - 1] = _SPACE
    if ascii_only:
        return JoinedWords(kept.tobytes(), starts, ends)
    # Offsets in UTF-8: one byte below U+0080, two below U+0800, three below U+10000, else four.
    widths = 1 + (kept >= 0x80).astype(np.int64) + (kept >= 0x800) + (kept >= _BMP)
    offsets = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(widths, out=offsets[1:])
    data = kept.tobytes().decode("utf-32-le").encode()
    return JoinedWords(data, offsets[starts], offsets[ends])


def _word_characters(codes: npt.NDArray[np.uint8] | npt.NDArray[np.uint32]) -> Mask:
    if codes.dtype == np.uint8:
        return _WORD_CHARACTER.take(codes)
    inside = _WORD_CHARACTER.take(np.minimum(codes, _BMP - 1))  # U+FFFF is no word character
    astral = np.flatnonzero(codes >= _BMP)
    if len(astral):
        inside[astral] = [chr(c).isalnum() for c in codes[astral].tolist()]
    return inside


def _spans(lengths: Offsets) -> tuple[Offsets, Offsets]:
    """Where words of these byte lengths start and end when joined by single spaces."""
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    return starts, starts + lengths
