"""The verdict rule, as a pure function of what the index returned.

Order of evidence: the same normalised content (``exact``), then the same canonical URL
(``url``), then the most similar LSH candidate at or above the threshold (``near``). Only
canonical articles are candidates, so a duplicate always points at a canonical one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.dedupe.signature import Signature, jaccard


@dataclass(frozen=True)
class Candidate:
    article_id: str
    signature: Signature


@dataclass(frozen=True)
class Decision:
    status: Literal["canonical", "duplicate"]
    canonical_id: str
    similarity: float | None = None
    reason: Literal["exact", "url", "near"] | None = None
    measure: Literal["jaccard"] | None = None

    @property
    def is_canonical(self) -> bool:
        return self.status == "canonical"


def decide(
    article_id: str,
    signature: Signature,
    *,
    exact_owner: str | None,
    url_owner: str | None,
    candidates: list[Candidate],
    threshold: float,
) -> Decision:
    if exact_owner is not None and exact_owner != article_id:
        return Decision("duplicate", exact_owner, 1.0, "exact")
    if url_owner is not None and url_owner != article_id:
        return Decision("duplicate", url_owner, None, "url")
    best: tuple[float, str] | None = None
    for candidate in candidates:
        if candidate.article_id == article_id:
            continue
        similarity = jaccard(signature, candidate.signature)
        # Highest similarity wins; among equals the earliest id (ids sort by ingest time).
        if similarity >= threshold and (
            best is None
            or similarity > best[0]
            or (similarity == best[0] and candidate.article_id < best[1])
        ):
            best = (similarity, candidate.article_id)
    if best is not None:
        return Decision("duplicate", best[1], round(best[0], 4), "near", "jaccard")
    return Decision("canonical", article_id)
