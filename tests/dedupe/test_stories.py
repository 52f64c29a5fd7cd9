"""Story grouping on its own: salient terms, the representative, and the story rule."""

import math
import subprocess
import sys
from collections import Counter
from collections.abc import Collection, Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.dedupe.judge.salience import (
    LEAD_BOOST,
    LEAD_TERMS,
    NAME_BOOST,
    TOP_TERMS,
    idf,
    salient_weights,
)
from services.dedupe.judge.stories import (
    MIN_SHARED_TERMS,
    REPRESENTATIVE_TERMS,
    Story,
    best_story,
    opened,
)
from services.dedupe.text.terms import TermCounter


def term_counts(text: str, title: str | None = None) -> tuple[Counter[str], set[str]]:
    counted = TermCounter().count(text, title)
    return counted.counts, counted.named


def salient_terms(
    counts: Mapping[str, int],
    named: Collection[str],
    frequencies: Mapping[str, int],
    documents: int,
) -> dict[str, float]:
    """``salient_weights`` of terms given as a mapping, in alphabetical order."""
    terms = sorted(counts)
    names = [n for n, term in enumerate(terms) if term in named]
    df = [frequencies.get(term, 0) for term in terms]
    return salient_weights(terms, [counts[t] for t in terms], names, df, documents)


DAY = 86_400_000
QUIET = 3 * DAY
TERMS = {"rubio": 0.4, "lawrow": 0.3, "riad": 0.3}


def _best(stories: list[Story], now: int = DAY) -> tuple[Story, float] | None:
    return best_story(TERMS, stories, 0.2, now, QUIET)


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
    counter = TermCounter()
    before = counter.count(text)
    monkeypatch.setattr(TermCounter, "LIMIT", 3)
    assert counter.count("Ganz andere Wörter stehen hier.") != before
    assert counter.count(text) == before
    assert len(counter.term) <= len(set(text.split()))


def test_a_possessive_counts_as_its_name() -> None:
    counts, named = term_counts("Officials met Rutte. Later Rutte's party and Rutte’s rival spoke.")
    assert counts["rutte"] == 3 and "rutte" in named
    assert not [term for term in counts if "'" in term]


def test_function_words_are_no_terms() -> None:
    counts, _ = term_counts("Und die Gespräche, sagte er, werden weitergehen. And they said so.")
    assert not {"und", "die", "and", "they", "said", "sagte"} & set(counts)


def test_a_term_every_article_has_weighs_less_than_a_rare_one() -> None:
    counts = Counter({"russland": 3, "lawrow": 3})
    terms = salient_terms(counts, set(), {"russland": 90, "lawrow": 1}, documents=100)
    assert terms["lawrow"] > terms["russland"]


def test_a_term_of_the_headline_and_lead_weighs_more_than_the_same_term_later() -> None:
    body = [f"body{n}" for n in range(LEAD_TERMS)]
    weights = salient_weights(["headline", *body, "later"], [2] * 12, [], [5] * 12, 100)
    assert weights["headline"] == pytest.approx(LEAD_BOOST * weights["later"])
    assert weights[body[-1]] == weights["later"]


def test_salient_weights_sum_to_one() -> None:
    terms = salient_terms(Counter({"a1": 1, "b2": 2, "c3": 3}), set(), {}, documents=0)
    assert round(sum(terms.values()), 6) == 1.0


def _textbook_salient(
    counts: Counter[str], named: set[str], frequencies: dict[str, int], documents: int
) -> list[tuple[str, float]]:
    # ``salient_terms`` gives the terms in alphabetical order: the first LEAD_TERMS are the lead.
    lead = set(sorted(counts)[:LEAD_TERMS])
    scored = {
        term: (1 + math.log(n)) * idf(frequencies.get(term, 0), documents)
        * ((NAME_BOOST if term in named else 1.0) * (LEAD_BOOST if term in lead else 1.0))
        for term, n in counts.items()
    }  # fmt: skip
    # Of equal weights, the term in more documents first, then the one written first.
    ranked = sorted(scored.items(), key=lambda kv: (-kv[1], -frequencies.get(kv[0], 0), kv[0]))
    best = ranked[:TOP_TERMS]
    total = sum(w for _, w in best if w > 0)
    return [(t, w / total) for t, w in best if w > 0] if total else []


TERM_NAMES = st.text(alphabet="abcdefgh", min_size=1, max_size=3)


@given(
    st.dictionaries(TERM_NAMES, st.integers(1, 9), max_size=60),
    st.dictionaries(TERM_NAMES, st.integers(0, 500), max_size=60),
    st.sets(TERM_NAMES, max_size=10),
    st.sampled_from([0, 1, 99, 500]),
)
def test_salient_terms_are_the_textbook_tf_idf_ranking_bit_for_bit(
    counts: dict[str, int], frequencies: dict[str, int], named: set[str], documents: int
) -> None:
    found = salient_terms(Counter(counts), named, frequencies, documents)
    assert list(found.items()) == _textbook_salient(Counter(counts), named, frequencies, documents)


def _similarity(story: Story, terms: dict[str, float]) -> float:
    return story.similarity(terms, sum(w * w for w in terms.values()))


def test_a_story_of_other_terms_is_not_similar_and_one_of_the_same_terms_fully() -> None:
    assert _similarity(opened("S", {"a": 1.0}, at_ms=DAY, shown={}), {"b": 1.0}) == 0.0
    assert round(_similarity(opened("S", TERMS, at_ms=DAY, shown={}), dict(TERMS)), 6) == 1.0


def test_joining_adds_the_members_terms_to_the_representative() -> None:
    story = opened("S", {"rubio": 1.0}, at_ms=DAY, shown={}).joined(
        {"rubio": 0.5, "waltz": 0.5}, 2 * DAY, {}
    )
    assert (story.members, story.representative(), story.first_seen_ms, story.last_seen_ms) == (
        2, {"rubio": 1.5, "waltz": 0.5}, DAY, 2 * DAY,
    )  # fmt: skip


def test_a_representative_keeps_the_strongest_terms_strongest_first() -> None:
    weights = {f"t{n:03d}": float(n) for n in range(REPRESENTATIVE_TERMS + 10)}
    story = opened("S", weights, at_ms=DAY, shown={})
    assert len(story.terms) == REPRESENTATIVE_TERMS
    assert story.terms[0] == f"t{REPRESENTATIVE_TERMS + 9:03d}"
    assert list(story.weights) == sorted(story.weights, reverse=True)


def test_nothing_similar_opens_a_new_story() -> None:
    assert _best([]) is None


def test_a_similar_open_story_is_joined() -> None:
    story = opened("S", TERMS, at_ms=DAY, shown={})
    assert _best([story]) == (story, 1.0)


def test_of_two_equally_similar_stories_the_earlier_id_is_joined() -> None:
    a, b = opened("A", TERMS, at_ms=DAY, shown={}), opened("B", TERMS, at_ms=DAY, shown={})
    assert _best([b, a]) == (a, 1.0)


def test_a_story_quiet_for_longer_than_the_quiet_time_is_closed() -> None:
    assert _best([opened("S", TERMS, at_ms=0, shown={})], now=QUIET + 1) is None


def test_an_article_sharing_one_term_with_a_story_does_not_join_it() -> None:
    # A word left over from a scraped page ("gen.") is all two articles share: no event.
    story = opened("S", {"gen": 1.0}, at_ms=DAY, shown={})
    assert MIN_SHARED_TERMS == 2
    assert best_story({"gen": 1.0}, [story], 0.2, DAY, QUIET) is None
    assert best_story({"gen": 0.5, "riad": 0.5}, [story.joined({"riad": 1.0}, DAY, {})], 0.2,
                      DAY, QUIET) is not None  # fmt: skip


def test_a_story_about_something_else_is_not_joined() -> None:
    assert _best([opened("S", {"trump": 0.5, "mexiko": 0.5}, at_ms=DAY, shown={})]) is None


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from("abcdefghij"), st.floats(0.001, 10.0), max_size=10),
    st.dictionaries(st.sampled_from("abcdefghij"), st.floats(0.001, 10.0), max_size=10),
)
def test_similarity_is_the_cosine_textbook_formula_to_the_last_bit(
    a: dict[str, float], b: dict[str, float]
) -> None:
    """Summed over the representative's terms in its order, strongest first."""
    story = opened("S", b, at_ms=DAY, shown={})
    dot = sum(w * a.get(t, 0.0) for t, w in zip(story.terms, story.weights, strict=True))
    if dot <= 0:
        assert _similarity(story, a) == 0.0
    else:
        squares = sum(w * w for w in a.values()) * sum(w * w for w in story.weights)
        assert _similarity(story, a) == dot / math.sqrt(squares)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Sanktion", "Sanktionen"),
        ("Bundeskongress", "Bundeskongresses"),
        ("Hitler-Gruß", "Hitlergruß"),
        ("Verhandlung", "Verhandlungen"),
    ],
)
def test_two_forms_of_one_german_word_are_one_term(one: str, other: str) -> None:
    first = term_counts(f"Die Partei sprach über die {one} am Montag.")[0]
    second = term_counts(f"Die Partei sprach über die {other} am Montag.")[0]
    assert first == second


def test_two_forms_of_one_english_word_are_one_term() -> None:
    assert (
        term_counts("The sanctions and the talks.")[0]
        == term_counts("The sanction and the talk.")[0]
    )


def test_german_common_nouns_after_a_contraction_or_by_their_ending_are_no_names() -> None:
    _, named = term_counts("Dabei stand im Vordergrund, dass Lockerung und Freiheit gelten.")
    assert not named & {"vordergrund", "lockerung", "freiheit"}


def test_each_term_is_shown_as_the_article_writes_its_dictionary_form() -> None:
    counted = TermCounter().count("Die Gespräche mit Lawrow. Ein Gespräch in Riad.")
    assert (counted.shown["gespraech"], counted.shown["lawrow"]) == ("Gespräch", "Lawrow")


def test_of_equal_weights_the_term_more_articles_share_ranks_first() -> None:
    # Both are rare enough to weigh alike; the one other articles already have links them.
    weights = salient_weights(["alpha", "zeta"], [1, 1], [], [1, 3], 100, top=1)
    assert list(weights) == ["zeta"]


def test_of_equal_weights_and_frequencies_the_term_written_first_ranks_first() -> None:
    weights = salient_weights(["zeta", "alpha"], [1, 1], [], [1, 1], 100, top=1)
    assert list(weights) == ["zeta"]


def test_a_term_counter_reads_both_dictionaries_when_made_so_no_article_waits_for_one() -> None:
    # A fresh interpreter: this one's dictionaries are read already. The count is simplemma's
    # own cache of the dictionaries it has read.
    script = (
        "from simplemma.strategies.dictionaries.dictionary_factory import "
        "DEFAULT_DICTIONARY_FACTORY as factory\n"
        "from services.dedupe.text.terms import TermCounter\n"
        "TermCounter()\n"
        "print(factory._get_dictionary.cache_info().currsize)\n"
    )
    read = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    assert read.stdout.strip() == str(len(TermCounter.LANGUAGES))
