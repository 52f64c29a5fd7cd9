"""The judge's clock and memory window: which time slice an article is filed under, and when
an entry or a whole slice has expired.

The clock is the stream's: an article's ingest time (its id's), never the wall clock, so a fold
over the same articles gives the same verdicts whenever and wherever it runs. Entries live
``horizon`` after their article's ingest time; they are filed per *generation* (a slice of
half the horizon), so a slice whose every entry has expired is dropped as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    horizon_ms: int

    @property
    def generation_ms(self) -> int:
        return max(1, self.horizon_ms // 2)

    def generation(self, at_ms: int) -> int:
        return at_ms // self.generation_ms

    def live(self, ingest_ms: int, at_ms: int) -> bool:
        """Whether an entry filed at ``ingest_ms`` is still in the window at ``at_ms``."""
        return ingest_ms + self.horizon_ms >= at_ms

    def expired(self, generation: int, at_ms: int) -> bool:
        """Whether every entry a generation can hold is out of the window at ``at_ms``."""
        return (generation + 1) * self.generation_ms + self.horizon_ms < at_ms
