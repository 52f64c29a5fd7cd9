"""Lines a source repeats: per source and generation of the judge's window, in how many
articles each edge line (``furniture.edge_keys``) appeared. A line in enough of a source's recent
articles is its boilerplate, and leaves the article's signature as furniture does."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


class LearnedLines:
    """Per source and generation of the window, in how many articles each edge line appeared.

    Read and counted in ingest order by the judge: whether a line is boilerplate for an article
    depends only on the articles ingested before it.
    """

    def __init__(self, window_ms: int, min_articles: int) -> None:
        self.generation_ms = max(1, window_ms // 2)
        self.min_articles = min_articles
        self.counts: dict[int, dict[str, Counter[bytes]]] = {}

    def recurring(self, source: str, keys: Sequence[bytes], at_ms: int) -> frozenset[bytes]:
        """The keys seen in enough of the source's earlier articles (this one counts too)."""
        g = at_ms // self.generation_ms
        now = self.counts.get(g, {}).get(source)
        before = self.counts.get(g - 1, {}).get(source)
        if now is None and before is None:
            return frozenset()
        least = self.min_articles - 1
        return frozenset(
            k for k in keys
            if (now[k] if now else 0) + (before[k] if before else 0) >= least
        )  # fmt: skip

    def count(self, source: str, keys: Sequence[bytes], at_ms: int) -> None:
        g = at_ms // self.generation_ms
        self.counts.setdefault(g, {}).setdefault(source, Counter()).update(keys)

    def expire(self, at_ms: int) -> None:
        current = at_ms // self.generation_ms
        for g in [g for g in self.counts if g < current - 1]:
            del self.counts[g]
