"""The verdict rule on its own: which outcome each view of the index leads to."""

import numpy as np

from services.dedupe.judge.decide import (
    Candidates,
    Entry,
    Match,
    Thresholds,
    best_match,
    canonical,
    following,
    update_of,
)
from shared.models import Decision

T = Thresholds(
    shingle_size=5,
    jaccard=0.5,
    containment=0.8,
    containment_min_shingles=10,
    pair_jaccard=0.58,
    pair_containment=0.82,
    pair_min_words=25,
)


def _words(*spans: tuple[int, int]) -> np.ndarray:
    """Word hashes: each span a run of distinct words, as ``range`` gives them."""
    return np.concatenate([np.arange(a, b, dtype=np.uint16) for a, b in spans])


def _entry(article_id: str, words: np.ndarray, key: bytes | None = None) -> Entry:
    return Entry(article_id, key or article_id.encode().ljust(8, b"-"), words)


OWN = _entry("M", _words((0, 100)))  # 96 shingles, 99 word pairs


def best(own: Entry, candidates: list[Entry]) -> Match | None:
    return best_match(own, [Candidates.of(candidates, T.shingle_size)], T)


def match(own: Entry, other: Entry) -> Match | None:
    return best(own, [other])


def test_nothing_similar_means_canonical() -> None:
    assert best(OWN, []) is None


def test_dissimilar_candidates_are_ignored() -> None:
    assert best(OWN, [_entry("A", _words((0, 20), (500, 580)))]) is None


def test_its_own_entry_is_no_candidate() -> None:
    assert best(OWN, [OWN]) is None


def test_a_similar_canonical_article_makes_it_a_duplicate_of_that_article() -> None:
    # The last 10 words replaced: 86 shingles in common of 96 + 96 - 86.
    outcome = best(OWN, [_entry("Z", _words((0, 90), (500, 510)))])
    assert outcome == Match("Z", round(86 / 106, 4), "jaccard", exact=False)


def test_the_most_similar_canonical_wins() -> None:
    a, b = _entry("A", _words((0, 80), (500, 520))), _entry("B", _words((0, 95), (500, 505)))
    outcome = best(OWN, [a, b])
    assert outcome is not None and outcome.article_id == "B"


def test_equally_similar_canonicals_resolve_to_the_earliest_id() -> None:
    same = _words((0, 90), (500, 510))
    outcome = best(OWN, [_entry("B", same), _entry("A", same)])
    assert outcome is not None and outcome.article_id == "A"


def test_identical_text_beats_a_higher_similarity() -> None:
    same = _entry("B", _words((0, 90), (500, 510)), key=OWN.content_key)
    outcome = best(OWN, [_entry("A", _words((0, 100))), same])
    assert outcome == Match("B", 1.0, "jaccard", exact=True)


def test_a_contained_teaser_matches_by_containment() -> None:
    # The first 40 words: 36 shingles, all in the full text's 96 (Jaccard 0.375).
    found = match(_entry("T", _words((0, 40))), OWN)
    assert found == Match("M", 1.0, "containment", exact=False)


def test_containment_is_symmetric() -> None:
    teaser = _entry("T", _words((0, 40)))
    assert match(teaser, OWN) == Match("M", 1.0, "containment", exact=False)
    assert match(OWN, teaser) == Match("T", 1.0, "containment", exact=False)


def test_containment_needs_enough_shingles_in_the_shorter_text() -> None:
    # 12 words: 8 shingles, under the 10 a containment needs, and too few words for pairs.
    assert match(_entry("T", _words((0, 12))), OWN) is None


def test_scattered_edits_leave_the_word_pairs_to_decide() -> None:
    # Every 10th word replaced: a shingle survives only between edits (Jaccard ~0.3), but a
    # pair only where neither word is an edit: 99 pairs less 19 is 80 in common of 99 + 99 - 80.
    edited = _words((0, 100))
    edited[9::10] += 1000
    found = match(_entry("E", edited), OWN)
    assert found == Match("M", round(80 / 118, 4), "pair_jaccard", exact=False)


def test_a_short_text_is_judged_by_its_shingles_only() -> None:
    # 20 words with one changed: 11 of 16 shingles shared (Jaccard 0.52), and its pairs are not
    # counted however many it shares.
    short = _words((0, 20))
    near = short.copy()
    near[10] = 999
    assert match(_entry("S", near), _entry("F", short)) == Match(
        "F", round(11 / 21, 4), "jaccard", exact=False
    )
    near[4] = 998
    assert match(_entry("S", near), _entry("F", short)) is None


def test_low_overlap_of_similar_sizes_is_no_match() -> None:
    assert match(OWN, _entry("A", _words((0, 40), (500, 560)))) is None


def test_following_an_article_points_at_its_canonical() -> None:
    found = Match("B", 0.8, "containment", exact=False)
    decision = following(
        found,
        Decision(
            status="duplicate",
            canonical_id="A",
            similarity=0.9,
            reason="near",
            measure="jaccard",
            matched_id="A",
        ),
    )
    assert decision == Decision(
        status="duplicate",
        canonical_id="A",
        similarity=0.8,
        reason="near",
        measure="containment",
        matched_id="B",
    )


def test_following_a_canonical_article_points_at_it() -> None:
    decision = following(Match("A", 1.0, "jaccard", exact=True), canonical("A"))
    assert (decision.canonical_id, decision.reason, decision.matched_id) == ("A", "exact", "A")


def test_changed_text_under_a_known_url_is_an_update() -> None:
    decision = update_of(canonical("A"), "A", same_text=False)
    assert decision == Decision(
        status="duplicate",
        canonical_id="A",
        similarity=None,
        reason="update",
        measure=None,
        matched_id="A",
    )


def test_same_text_under_a_known_url_is_an_exact_duplicate() -> None:
    decision = update_of(
        Decision(
            status="duplicate",
            canonical_id="Z",
            similarity=0.9,
            reason="near",
            measure="jaccard",
            matched_id="Z",
        ),
        "A",
        True,
    )
    assert decision == Decision(
        status="duplicate",
        canonical_id="Z",
        similarity=1.0,
        reason="exact",
        measure="jaccard",
        matched_id="A",
    )
