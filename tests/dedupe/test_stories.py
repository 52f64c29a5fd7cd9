"""Story grouping on its own: salient terms, the representative, and the story rule."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from services.dedupe.stories import Story, best_story, cosine, opened

DAY = 86_400_000
QUIET = 3 * DAY
TERMS = {"rubio": 0.4, "lawrow": 0.3, "riad": 0.3}


def _best(stories: list[Story], now: int = DAY) -> tuple[Story, float] | None:
    return best_story(TERMS, stories, 0.2, now, QUIET)


def test_cosine_of_disjoint_terms_is_zero_and_of_equal_terms_one() -> None:
    assert cosine({"a": 1.0}, {"b": 1.0}) == 0.0
    assert round(cosine(TERMS, dict(TERMS)), 6) == 1.0


def test_joining_adds_the_members_terms_to_the_representative() -> None:
    story = opened("S", {"rubio": 1.0}, at_ms=DAY).joined({"rubio": 0.5, "waltz": 0.5}, 2 * DAY)
    assert (story.members, story.weights, story.first_seen_ms, story.last_seen_ms) == (
        2, {"rubio": 1.5, "waltz": 0.5}, DAY, 2 * DAY,
    )  # fmt: skip


def test_nothing_similar_opens_a_new_story() -> None:
    assert _best([]) is None


def test_a_similar_open_story_is_joined() -> None:
    story = opened("S", TERMS, at_ms=DAY)
    assert _best([story]) == (story, 1.0)


def test_of_two_equally_similar_stories_the_earlier_id_is_joined() -> None:
    a, b = opened("A", TERMS, at_ms=DAY), opened("B", TERMS, at_ms=DAY)
    assert _best([b, a]) == (a, 1.0)


def test_a_story_quiet_for_longer_than_the_quiet_time_is_closed() -> None:
    assert _best([opened("S", TERMS, at_ms=0)], now=QUIET + 1) is None


def test_a_story_about_something_else_is_not_joined() -> None:
    assert _best([opened("S", {"trump": 0.5, "mexiko": 0.5}, at_ms=DAY)]) is None


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from("abcdefghij"), st.floats(0.001, 10.0), max_size=10),
    st.dictionaries(st.sampled_from("abcdefghij"), st.floats(0.001, 10.0), max_size=10),
)
def test_cosine_is_the_textbook_formula_to_the_last_bit(
    a: dict[str, float], b: dict[str, float]
) -> None:
    dot = sum(w * b.get(t, 0.0) for t, w in a.items())
    if dot <= 0:
        assert cosine(a, b) == 0.0
    else:
        squares = sum(w * w for w in a.values()) * sum(w * w for w in b.values())
        assert cosine(a, b) == dot / math.sqrt(squares)
