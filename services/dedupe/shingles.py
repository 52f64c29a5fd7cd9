"""Word shingles: overlapping k-word windows, the unit of text overlap MinHash estimates."""

from __future__ import annotations

import hashlib


def shingles(words: list[str], size: int) -> list[bytes]:
    """Distinct k-word windows; a text shorter than k words is one shingle of all its words."""
    if not words:
        return []
    if len(words) <= size:
        return [" ".join(words).encode()]
    encoded = [word.encode() for word in words]
    windows = zip(*(encoded[k:] for k in range(size)), strict=False)
    return list(dict.fromkeys(map(b" ".join, windows)))


def content_hash(words: list[str]) -> str:
    """Same words in the same order, however typeset: the key of an exact duplicate."""
    return hashlib.sha256(" ".join(words).encode()).hexdigest()
