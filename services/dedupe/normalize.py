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
_HYPHEN_BREAK = re.compile(r"(\w)-[ \t]*\r?\n[ \t]*(?=\w)")
_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")

_FOLD = str.maketrans(
    {
        "„": '"', "“": '"', "”": '"', "‟": '"', "«": '"', "»": '"', "″": '"',
        "‚": "'", "‘": "'", "’": "'", "‛": "'", "‹": "'", "›": "'", "′": "'",
        "–": "-", "—": "-", "‒": "-", "―": "-", "−": "-", "‐": "-", "‑": "-",
        "ä": "ae", "ö": "oe", "ü": "ue",
    }
)  # fmt: skip


def _rejoin(match: re.Match[str]) -> str:
    following = match.string[match.end() : match.end() + 1]
    return match.group(1) + ("" if following.islower() else "-")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace(_SOFT_HYPHEN, "")
    text = _HYPHEN_BREAK.sub(_rejoin, text)
    text = text.casefold().translate(_FOLD)  # casefold also turns ß into ss
    return _WHITESPACE.sub(" ", text).strip()


def tokens(normalized: str) -> list[str]:
    """Words only: punctuation and layout carry no evidence of sameness."""
    return _WORD.findall(normalized)
