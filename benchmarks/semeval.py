"""Human-rated article pairs: SemEval-2022 Task 8, "Multilingual News Article Similarity".

``semeval2022-task8-en-pairs.jsonl.gz`` holds the English–English pairs of the task's training
and test sets, ``semeval2022-task8-de-train-pairs.jsonl.gz`` the German–German pairs of its
training set, as published with their texts in the Apache-2.0 repository of its winning system
(GeekDream-x/SemEval2022-Task8-TonyX). People rated each pair on how far the two articles are
about the same news event: ``overall`` is the mean rating, 1 = the same event … 4 = unrelated.
Almost every pair is two different articles, many on one story: negatives for duplicates, and a
human gold for stories.
"""

from __future__ import annotations

import gzip
import json
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from random import Random

from benchmarks.corpus import Doc, day_order

_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_PAIRS = _DATA / "semeval2022-task8-en-pairs.jsonl.gz"
DEFAULT_GERMAN_PAIRS = _DATA / "semeval2022-task8-de-train-pairs.jsonl.gz"


class MissingPairs(FileNotFoundError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{path} not found. It holds pairs of SemEval-2022 Task 8 with their texts (from "
            "the GeekDream-x/SemEval2022-Task8-TonyX repository). Pass its path with --pairs "
            "(English) or --german-pairs."
        )


@dataclass(frozen=True)
class RatedPair:
    pair_id: str
    first: str  # document keys
    second: str
    overall: float  # 1 = the same event … 4 = unrelated


def load_pairs(path: Path, prefix: str = "semeval") -> tuple[list[Doc], list[RatedPair]]:
    """Every article once (an article rated in two pairs is one document), and the pairs; the
    documents' keys are ``prefix:article id``."""
    if not path.exists():
        raise MissingPairs(path)
    docs: dict[str, Doc] = {}
    pairs = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            keys = []
            for article_id, text in zip(row["pair_id"].split("_"), (row["text1"], row["text2"]),
                                        strict=True):  # fmt: skip
                key = f"{prefix}:{article_id}"
                docs.setdefault(key, Doc(key, text, f"https://semeval.example/{article_id}",
                                         f"semeval-{article_id}"))  # fmt: skip
                keys.append(key)
            pairs.append(RatedPair(row["pair_id"], keys[0], keys[1], float(row["overall"])))
    return list(docs.values()), pairs


def interleave(
    background: Sequence[Doc], rated: Sequence[Doc], pairs: Sequence[RatedPair], rng: Random
) -> list[Doc]:
    """The background stream (in time order) with every rated article in it, as coverage of
    one event arrives: each pair's first side at a random point of the stream, its second side
    at a random point after it on the same day or the next, each dated the day of the
    background article before it (an article of two pairs arrives once, where its first pair
    puts it). The rating plays no part: pairs rated unrelated arrive as close together as those
    rated the same event."""
    by_key = {d.key: d for d in rated}
    ordinal = [_ordinal(d.day) for d in background]
    after: dict[int, list[str]] = {}  # background position -> rated keys that follow it
    placed: set[str] = set()
    for pair in pairs:
        first = rng.randrange(len(background))
        until = bisect_right(ordinal, ordinal[first] + 1)  # the end of the next day
        second = rng.randrange(first, until)
        for key, at in ((pair.first, first), (pair.second, second)):
            if key not in placed:
                placed.add(key)
                after.setdefault(at, []).append(key)
    stream: list[Doc] = []
    for n, doc in enumerate(background):
        stream.append(doc)
        stream.extend(replace(by_key[k], day=doc.day) for k in after.get(n, ()))
    return stream


def among_themselves(
    rated: Sequence[Doc], pairs: Sequence[RatedPair], rng: Random, day: str, reach: int = 20
) -> list[Doc]:
    """The rated articles as a stream of their own (the background for a language with no news
    corpus here): each pair's first side at a random point, its second side within the next
    ``reach`` articles, all on one day. As in ``interleave``, the rating plays no part."""
    by_key = {d.key: d for d in rated}
    order = list(pairs)
    rng.shuffle(order)
    position: dict[str, float] = {}
    for pair in order:
        first = position.setdefault(pair.first, rng.random() * len(rated))
        position.setdefault(pair.second, first + rng.random() * reach)
    return [replace(by_key[k], day=day) for k in sorted(position, key=position.__getitem__)]


def _ordinal(day: str | None) -> int:
    if day is None:
        raise ValueError("the background articles must have days")
    return date(*day_order(day)[:3]).toordinal()
