"""Word shingles: overlapping k-word windows, the unit of text overlap MinHash estimates."""

from __future__ import annotations

import hashlib
from itertools import accumulate


def shingles(words: list[str], size: int) -> list[bytes]:
    """Distinct k-word windows; a text shorter than k words is one shingle of all its words.

    Each window is a slice of the words joined once, not a join of its own: an article has as
    many windows as words.
    """
    if not words:
        return []
    joined = " ".join(words)
    data = joined.encode()
    if len(words) <= size:
        return [data]
    lengths = map(len, words) if len(data) == len(joined) else (len(w.encode()) for w in words)
    # Where each word starts in ``data``: after every earlier word and its space.
    starts = list(accumulate(map((1).__add__, lengths), initial=0))
    windows = zip(starts, starts[size:], strict=False)
    return list(dict.fromkeys([data[a : b - 1] for a, b in windows]))


def content_hash(words: list[str]) -> str:
    """Same words in the same order, however typeset: the key of an exact duplicate."""
    return hashlib.sha256(" ".join(words).encode()).hexdigest()
