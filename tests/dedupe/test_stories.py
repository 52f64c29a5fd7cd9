"""Story grouping on its own: salient terms, the representative, and the story rule."""

import math
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.dedupe.decide import State
from services.dedupe.stories import (
    Await,
    Join,
    Member,
    NewStory,
    Story,
    cosine,
    judge_story,
    judge_story_batch,
    opened,
)
from services.dedupe.story_index import decode_member, decode_story, encode_member, encode_story
from services.dedupe.terms import (
    _VOCABULARY,
    MIN_DOCUMENTS,
    NAME_BOOST,
    TOP_TERMS,
    _Vocabulary,
    counting_batch,
    idf,
    salient_terms,
    term_counts,
)

DAY = 86_400_000
QUIET = 3 * DAY
TERMS = {"rubio": 0.4, "lawrow": 0.3, "riad": 0.3}


def _member(article_id: str, state: State, terms: dict[str, float] = TERMS,
            story: str | None = None) -> Member:  # fmt: skip
    return Member(article_id, state, terms, story)


def _judge(candidates: list[Member], stories: dict[str, Story], now: int = DAY) -> object:
    return judge_story(_member("M", State.CONTENDING), candidates, stories, 0.2, now, QUIET)


def test_english_names_are_terms_marked_as_names() -> None:
    counts, named = term_counts("The talks were held in Riyadh. Officials met Marco Rubio there.")
    assert {"riyadh", "rubio", "marco"} <= named
    assert "official" in counts and "official" not in named  # stemmed; at a sentence start


def test_a_capitalised_word_after_a_short_first_word_of_a_line_is_no_name() -> None:
    _, named = term_counts("Sales rose (page 24).\nA Smart car was sold. Later Daimler said so.")
    assert "smart" not in named and "daimler" in named


def test_german_nouns_after_an_article_are_no_names_but_a_place_after_a_preposition_is() -> None:
    counts, named = term_counts("Die Gespräche über den Krieg wurden in Riad fortgesetzt.")
    assert named == {"riad"}
    assert {"gespraech", "krieg", "riad"} <= set(counts)


def test_a_german_name_after_a_title_is_a_name_but_the_title_after_an_adjective_is_not() -> None:
    _, named = term_counts("Er traf den russischen Außenminister Sergei Lawrow gestern.")
    assert named == {"sergei", "lawrow"}


def test_terms_are_the_same_after_the_vocabulary_was_emptied_for_being_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "Er traf den russischen Außenminister Sergei Lawrow gestern in Riad."
    before = term_counts(text)
    monkeypatch.setattr(_Vocabulary, "LIMIT", 3)
    assert term_counts("Ganz andere Wörter stehen hier.") != before
    assert term_counts(text) == before
    assert len(_VOCABULARY.term) <= len(set(text.split()))


def test_function_words_are_no_terms() -> None:
    counts, _ = term_counts("Und die Gespräche, sagte er, werden weitergehen. And they said so.")
    assert not {"und", "die", "and", "they", "said", "sagte"} & set(counts)


def test_a_term_every_article_has_weighs_less_than_a_rare_one() -> None:
    counts = Counter({"russland": 3, "lawrow": 3})
    terms = salient_terms(counts, set(), {"russland": 90, "lawrow": 1}, documents=100)
    assert terms["lawrow"] > terms["russland"]


def test_on_a_cold_start_a_batch_weighs_its_terms_by_its_own_articles() -> None:
    # No article counted yet: a word all of the batch's articles use weighs least.
    batch = [Counter({"said": 2, f"name{n}": 1}) for n in range(MIN_DOCUMENTS)]
    frequencies, documents = counting_batch({}, 0, batch)
    terms = salient_terms(batch[0], set(), frequencies, documents)
    assert (frequencies["said"], documents) == (MIN_DOCUMENTS, MIN_DOCUMENTS)
    assert terms["name0"] > terms["said"]


def test_once_enough_articles_are_counted_a_batch_does_not_count_itself() -> None:
    batch = [Counter({"said": 1})]
    assert counting_batch({"said": 3}, MIN_DOCUMENTS, batch) == ({"said": 3}, MIN_DOCUMENTS)


def test_salient_weights_sum_to_one() -> None:
    terms = salient_terms(Counter({"a1": 1, "b2": 2, "c3": 3}), set(), {}, documents=0)
    assert round(sum(terms.values()), 6) == 1.0


def _textbook_salient(
    counts: Counter[str], named: set[str], frequencies: dict[str, int], documents: int
) -> list[tuple[str, float]]:
    scored = {
        term: (1 + math.log(n)) * idf(frequencies.get(term, 0), documents)
        * (NAME_BOOST if term in named else 1.0)
        for term, n in counts.items()
    }  # fmt: skip
    best = sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TERMS]
    total = sum(w for _, w in best if w > 0)
    return [(t, w / total) for t, w in best if w > 0] if total else []


TERM_NAMES = st.text(alphabet="abcdefgh", min_size=1, max_size=3)


@given(
    st.dictionaries(TERM_NAMES, st.integers(1, 9), max_size=60),
    st.dictionaries(TERM_NAMES, st.integers(0, 500), max_size=60),
    st.sets(TERM_NAMES, max_size=10),
    st.sampled_from([0, MIN_DOCUMENTS - 1, MIN_DOCUMENTS, 500]),
)
def test_salient_terms_are_the_textbook_tf_idf_ranking_bit_for_bit(
    counts: dict[str, int], frequencies: dict[str, int], named: set[str], documents: int
) -> None:
    found = salient_terms(Counter(counts), named, frequencies, documents)
    assert list(found.items()) == _textbook_salient(Counter(counts), named, frequencies, documents)


def test_cosine_of_disjoint_terms_is_zero_and_of_equal_terms_one() -> None:
    assert cosine({"a": 1.0}, {"b": 1.0}) == 0.0
    assert round(cosine(TERMS, dict(TERMS)), 6) == 1.0


def test_joining_adds_the_members_terms_to_the_representative() -> None:
    story = opened("S", {"rubio": 1.0}, at_ms=DAY).joined({"rubio": 0.5, "waltz": 0.5}, 2 * DAY)
    assert (story.members, story.weights, story.first_seen_ms, story.last_seen_ms) == (
        2, {"rubio": 1.5, "waltz": 0.5}, DAY, 2 * DAY,
    )  # fmt: skip


def test_nothing_similar_opens_a_new_story() -> None:
    assert _judge([], {}) == NewStory()


def test_a_similar_open_story_is_joined() -> None:
    story = opened("S", TERMS, at_ms=DAY)
    assert _judge([_member("A", State.CANONICAL, story="S")], {"S": story}) == Join("S", 1.0)


def test_a_story_quiet_for_longer_than_the_quiet_time_is_closed() -> None:
    story = opened("S", TERMS, at_ms=0)
    candidates = [_member("A", State.CANONICAL, story="S")]
    assert _judge(candidates, {"S": story}, now=QUIET + 1) == NewStory()


def test_a_member_similar_to_the_article_does_not_pull_it_into_a_story_about_else() -> None:
    # A's own terms match, but A's story is about other things: no chaining through A.
    story = opened("S", {"trump": 0.5, "mexiko": 0.5}, at_ms=DAY)
    assert _judge([_member("A", State.CANONICAL, story="S")], {"S": story}) == NewStory()


def test_an_earlier_similar_contender_is_waited_for_after_withdrawing() -> None:
    assert _judge([_member("A", State.CONTENDING)], {}) == Await(("A",), withdraw=True)


def test_a_later_similar_contender_is_waited_for_without_withdrawing() -> None:
    assert _judge([_member("Z", State.CONTENDING)], {}) == Await(("Z",), withdraw=False)


def test_a_later_withdrawn_article_does_not_stand_in_the_way() -> None:
    assert _judge([_member("Z", State.WITHDRAWN)], {}) == NewStory()


def test_in_a_batch_a_second_article_on_the_event_joins_the_story_the_first_opened() -> None:
    first, second = _member("A", State.CONTENDING), _member("B", State.CONTENDING)
    outcomes = judge_story_batch([(first, [second], DAY), (second, [first], DAY)], {}, 0.2, QUIET)
    assert outcomes == [NewStory(), Join("A", 1.0)]


def test_in_a_batch_an_article_similar_to_one_that_must_wait_waits_too() -> None:
    elsewhere = _member("C", State.CONTENDING)  # another worker's contender, after A
    first, second = _member("A", State.CONTENDING), _member("B", State.CONTENDING)
    outcomes = judge_story_batch(
        [(first, [second, elsewhere], DAY), (second, [first, elsewhere], DAY)], {}, 0.2, QUIET
    )
    assert outcomes == [Await(("C",), withdraw=False), Await(("A",), withdraw=True)]


def test_a_member_read_again_after_it_settled_is_read_as_settled() -> None:
    contending = _member("M", State.CONTENDING)
    settled = _member("M", State.CANONICAL, story="S")
    assert decode_member("M", encode_member(contending)) == contending
    assert decode_member("M", encode_member(settled)) == settled


def test_a_story_record_decodes_to_the_story_as_it_was_written() -> None:
    story = opened("01JMA0000000000000000000AA", TERMS, at_ms=DAY)
    grown = story.joined({"rubio": 1.0}, at_ms=2 * DAY)
    assert decode_story(encode_story(story)) == story
    assert decode_story(encode_story(grown)) == grown  # another value, not the cached one


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


def test_a_story_judged_against_decodes_to_the_story_as_it_was_written() -> None:
    story = opened("S", {"rubio": 1.0, "waltz": 0.5}, at_ms=DAY)
    assert story.squares == 1.25  # computed and cached on the story, not a field of its record
    assert decode_story(encode_story(story)) == story
