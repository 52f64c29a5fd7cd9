"""Every parameter a verdict depends on, read from the settings once: the judge is built from
it, and the deployment records it (``service.params``), so that a process started with other
values refuses to judge beside it."""

from __future__ import annotations

from dataclasses import dataclass

from services.dedupe.judge.decide import Thresholds
from services.dedupe.text.signature import SignatureParams
from shared.settings import Settings


@dataclass(frozen=True)
class JudgeConfig:
    signature: SignatureParams
    thresholds: Thresholds
    horizon_ms: int  # how far back an article is compared
    candidate_postings: int  # of each LSH key, the newest articles read
    verify_candidates: int  # candidates measured per article
    boilerplate_min_articles: int  # a source's edge line in this many articles is boilerplate
    boilerplate_line_chars: int  # how long an edge line may be to be learned
    story_threshold: float
    story_quiet_days: float
    story_candidates: int  # open stories weighed per article

    @classmethod
    def from_settings(cls, s: Settings) -> JudgeConfig:
        return cls(
            SignatureParams(s.num_perm, s.seed, s.shingle_size, s.candidate_threshold),
            Thresholds(
                s.shingle_size, s.threshold, s.containment_threshold,
                s.containment_min_shingles, s.pair_threshold, s.pair_containment_threshold,
                s.pair_min_words,
            ),
            s.index_horizon_ms, s.candidate_postings, s.verify_candidates,
            s.boilerplate_min_articles, s.boilerplate_line_chars, s.story_threshold,
            s.story_quiet_days,
            s.story_candidates,
        )  # fmt: skip

    @property
    def story_quiet_ms(self) -> int:
        return int(self.story_quiet_days * 86_400_000)

    def recorded(self) -> dict[str, str]:
        """The values as the deployment records them, one field each."""
        p, t = self.signature, self.thresholds
        bands, rows = p.bands_rows
        return {
            "num_perm": str(p.num_perm),
            "seed": str(p.seed),
            "shingle_size": str(p.shingle_size),
            "candidate_threshold": str(p.candidate_threshold),
            "bands": str(bands),
            "rows": str(rows),
            "horizon_ms": str(self.horizon_ms),
            "threshold": str(t.jaccard),
            "containment_threshold": str(t.containment),
            "containment_min_shingles": str(t.containment_min_shingles),
            "pair_threshold": str(t.pair_jaccard),
            "pair_containment_threshold": str(t.pair_containment),
            "pair_min_words": str(t.pair_min_words),
            "candidate_postings": str(self.candidate_postings),
            "verify_candidates": str(self.verify_candidates),
            "boilerplate_min_articles": str(self.boilerplate_min_articles),
            "boilerplate_line_chars": str(self.boilerplate_line_chars),
            "story_threshold": str(self.story_threshold),
            "story_quiet_days": str(self.story_quiet_days),
            "story_candidates": str(self.story_candidates),
        }
