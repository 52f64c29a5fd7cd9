import numpy as np

from services.dedupe.decide import Candidate, decide

SIG = np.arange(100, dtype=np.uint32)


def _sig_sharing(fraction: float) -> np.ndarray:
    other = SIG.copy()
    changed = round(len(SIG) * (1 - fraction))
    other[:changed] += 1_000_000
    return other


def _decide(**kw: object):  # type: ignore[no-untyped-def]
    args = {"exact_owner": None, "url_owner": None, "candidates": [], "threshold": 0.5}
    args.update(kw)
    return decide("B", SIG, **args)  # type: ignore[arg-type]


def test_nothing_known_means_canonical_of_itself() -> None:
    decision = _decide()
    assert (decision.status, decision.canonical_id, decision.reason) == ("canonical", "B", None)


def test_same_content_is_an_exact_duplicate_of_its_owner() -> None:
    decision = _decide(exact_owner="A", url_owner="C")
    assert (decision.status, decision.canonical_id, decision.reason) == ("duplicate", "A", "exact")
    assert decision.similarity == 1.0


def test_same_canonical_url_is_a_url_duplicate() -> None:
    decision = _decide(url_owner="A")
    assert (decision.canonical_id, decision.reason) == ("A", "url")


def test_owning_the_keys_itself_is_no_duplicate() -> None:
    assert _decide(exact_owner="B", url_owner="B").status == "canonical"


def test_most_similar_candidate_above_threshold_is_the_canonical() -> None:
    decision = _decide(
        candidates=[Candidate("A", _sig_sharing(0.6)), Candidate("C", _sig_sharing(0.9))]
    )
    assert (decision.canonical_id, decision.reason, decision.measure) == ("C", "near", "jaccard")
    assert decision.similarity == 0.9


def test_equally_similar_candidates_resolve_to_the_earliest_id() -> None:
    decision = _decide(
        candidates=[Candidate("C", _sig_sharing(0.8)), Candidate("A", _sig_sharing(0.8))]
    )
    assert decision.canonical_id == "A"


def test_candidates_below_the_threshold_leave_the_article_canonical() -> None:
    assert _decide(candidates=[Candidate("A", _sig_sharing(0.4))]).status == "canonical"


def test_the_article_is_never_its_own_candidate() -> None:
    assert _decide(candidates=[Candidate("B", SIG)]).status == "canonical"
