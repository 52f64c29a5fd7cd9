"""Word shingles: overlapping k-word windows, the unit of text overlap MinHash estimates."""

from __future__ import annotations

import hashlib


def shingles(words: list[str], size: int) -> list[bytes]:
    """Distinct k-word windows; a text shorter than k words is one shingle of all its words."""
    if not words:
        return []
    if len(words) <= size:
        return [" ".join(words).encode()]
    seen = dict.fromkeys(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))
    return [s.encode() for s in seen]


def content_hash(words: list[str]) -> str:
    """Same words in the same order, however typeset: the key of an exact duplicate."""
    return hashlib.sha256(" ".join(words).encode()).hexdigest()
