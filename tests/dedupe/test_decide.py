"""The verdict rule on its own: which outcome each view of the index leads to."""

import numpy as np

from services.dedupe.decide import (
    Decision,
    Entry,
    Match,
    Thresholds,
    best_match,
    canonical,
    following,
    match,
    update_of,
)

SIG = np.arange(100, dtype=np.uint32)
T = Thresholds(jaccard=0.5, containment=0.8, containment_min_shingles=10)


def _sig_sharing(fraction: float) -> np.ndarray:
    other = SIG.copy()
    changed = round(len(SIG) * (1 - fraction))
    other[:changed] += 1_000_000
    return other


def _entry(
    article_id: str,
    sharing: float = 1.0,
    size: int = 100,
    key: bytes | None = None,
) -> Entry:
    return Entry(article_id, key or article_id.encode().ljust(8, b"-"), size,
                 _sig_sharing(sharing))  # fmt: skip


OWN = _entry("M")


def test_nothing_similar_means_canonical() -> None:
    assert best_match(OWN, [], T) is None


def test_dissimilar_candidates_are_ignored() -> None:
    assert best_match(OWN, [_entry("A", sharing=0.2)], T) is None


def test_its_own_entry_is_no_candidate() -> None:
    assert best_match(OWN, [OWN], T) is None


def test_a_similar_canonical_article_makes_it_a_duplicate_of_that_article() -> None:
    outcome = best_match(OWN, [_entry("Z", sharing=0.8)], T)
    assert outcome == Match("Z", 0.8, "jaccard", exact=False)


def test_the_most_similar_canonical_wins() -> None:
    outcome = best_match(OWN, [_entry("A", 0.6), _entry("B", 0.9)], T)
    assert outcome is not None and outcome.article_id == "B"


def test_equally_similar_canonicals_resolve_to_the_earliest_id() -> None:
    outcome = best_match(OWN, [_entry("B", 0.7), _entry("A", 0.7)], T)
    assert outcome is not None and outcome.article_id == "A"


def test_identical_text_beats_a_higher_estimate() -> None:
    same = _entry("B", sharing=0.9, key=OWN.content_key)
    outcome = best_match(OWN, [_entry("A", 1.0), same], T)
    assert outcome == Match("B", 1.0, "jaccard", exact=True)


def test_a_contained_teaser_matches_by_containment() -> None:
    # Jaccard 0.45 between a set of 50 and one of 100 shingles: |A∩B| = 0.45*150/1.45 ≈ 46.6,
    # so 93% of the shorter text is in the longer one.
    found = match(_entry("M", size=50), _entry("A", sharing=0.45, size=100), T)
    assert found == Match("A", 0.931, "containment", exact=False)


def test_containment_is_symmetric() -> None:
    a, b = _entry("A", size=50), _entry("B", sharing=0.45, size=100)
    assert match(a, b, T) == Match("B", 0.931, "containment", exact=False)
    assert match(b, a, T) == Match("A", 0.931, "containment", exact=False)


def test_containment_needs_enough_shingles_in_the_shorter_text() -> None:
    assert match(_entry("M", size=9), _entry("A", sharing=0.45, size=18), T) is None


def test_low_overlap_of_similar_sizes_is_no_match() -> None:
    assert match(_entry("M", size=100), _entry("A", sharing=0.3, size=100), T) is None


def test_following_an_article_points_at_its_canonical() -> None:
    found = Match("B", 0.8, "containment", exact=False)
    decision = following(found, Decision("duplicate", "A", 0.9, "near", "jaccard", "A"))
    assert decision == Decision("duplicate", "A", 0.8, "near", "containment", "B")


def test_following_a_canonical_article_points_at_it() -> None:
    decision = following(Match("A", 1.0, "jaccard", exact=True), canonical("A"))
    assert (decision.canonical_id, decision.reason, decision.matched_id) == ("A", "exact", "A")


def test_changed_text_under_a_known_url_is_an_update() -> None:
    decision = update_of(canonical("A"), "A", same_text=False)
    assert decision == Decision("duplicate", "A", None, "update", None, "A")


def test_same_text_under_a_known_url_is_an_exact_duplicate() -> None:
    decision = update_of(Decision("duplicate", "Z", 0.9, "near", "jaccard", "Z"), "A", True)
    assert decision == Decision("duplicate", "Z", 1.0, "exact", "jaccard", "A")
