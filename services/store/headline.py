"""What a reader knows an article by: its title, or else its first sentence."""

from __future__ import annotations

import re
from textwrap import shorten

MAX_CHARS = 160
# A sentence ends at a mark that follows no digit ("am 3. Februar" goes on), perhaps closed by a
# quote, before a capital, an opening quote or bracket, or the end of the line.
_SENTENCE_END = re.compile(r"(?<!\d)[.!?…][\"'“”»«]?(?=\s+[\"'„“«»(\[A-ZÄÖÜ]|\s*$)")


def headline(title: str | None, text: str) -> str:
    """The title, or the first sentence of the first line with text, at most ``MAX_CHARS``
    (cut between words)."""
    if title and title.strip():
        line = " ".join(title.split())
    else:
        first = next((ln for ln in text.splitlines() if ln.strip()), "")
        line = " ".join(first.split())
        end = _SENTENCE_END.search(line)
        if end:
            line = line[: end.end()]
    return shorten(line, width=MAX_CHARS, placeholder=" …")
