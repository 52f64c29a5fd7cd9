"""The index window: which time slices an article is filed under, searched in, and expire when.

Entries expire ``horizon`` after the article's ingest time, by Redis key expiry. LSH buckets are
filed per *generation* (a slice of half the horizon) so a whole slice of buckets expires as one
key; a search covers the generations that can still hold live entries. A bucket member whose
entry has expired is skipped, and goes when its generation does.
"""

from __future__ import annotations

from dataclasses import dataclass

# Clock skew tolerated between the ingest host that stamped an id and the dedupe host, and the
# shortest life an entry gets even if its article arrives after the horizon (a backlog), so that
# replicas still see it while they judge it.
SKEW_MS = 60_000


@dataclass(frozen=True)
class Window:
    horizon_ms: int

    @property
    def generation_ms(self) -> int:
        return max(1, self.horizon_ms // 2)

    def generation(self, at_ms: int) -> int:
        return at_ms // self.generation_ms

    def filed(self, now_ms: int, ingest_ms: int) -> int:
        """The generation an article's buckets go in: by the time it is indexed, so a backlog
        article older than the horizon never lands in a slice that is already expiring."""
        return self.generation(max(now_ms, ingest_ms))

    def searched(self, now_ms: int, ingest_ms: int) -> range:
        """Generations that may hold entries of articles still inside the horizon."""
        newest = max(now_ms, ingest_ms) + SKEW_MS
        return range(self.generation(now_ms - self.horizon_ms), self.generation(newest) + 1)

    def entry_expiry_ms(self, ingest_ms: int, now_ms: int) -> int:
        """Absolute expiry of an article's entry: its ingest time plus the horizon."""
        return max(ingest_ms + self.horizon_ms, now_ms + min(SKEW_MS, self.horizon_ms))

    def generation_expiry_ms(self, generation: int) -> int:
        """A generation's buckets outlive the last entry filed in them."""
        return (generation + 1) * self.generation_ms + self.horizon_ms + SKEW_MS
