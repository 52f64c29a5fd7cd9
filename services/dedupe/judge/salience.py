"""Salience: an article's terms weighed by tf·idf against the stream's document frequencies
(which the story index learns as articles arrive), cut to the strongest. Two articles about one
event share few sentences but many names and rare content words; words every article uses weigh
nothing."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

TOP_TERMS = 30
NAME_BOOST = 1.5  # a capitalised word inside an English sentence is most likely a name
# An article's first terms are its headline's and its lead's: what the event is. Two reports of
# one event share them more than their bodies' words, so they weigh more.
LEAD_TERMS = 10
LEAD_BOOST = 1.5


# A term in this few articles is as rare as one in a single article: the second and third
# article of an event share its names, and those must not weigh less than each one's own words.
RARE_DOCUMENTS = 3

# Until the stream has this many articles its frequencies say little (the first articles of one
# event make their shared names look common): the idf fades in, as idf ** (documents / this),
# from weighing every term alike to the full idf.
FULL_IDF_DOCUMENTS = 100


def idf(document_frequency: int, documents: int) -> float:
    """At least 0.1: no term is in more documents than were counted; a term in at most
    ``RARE_DOCUMENTS`` weighs as one in one."""
    rare = min(max(document_frequency, RARE_DOCUMENTS), documents)
    full = math.log((documents + 1) / (rare + 1)) + 0.1
    return full if documents >= FULL_IDF_DOCUMENTS else full ** (documents / FULL_IDF_DOCUMENTS)


def salient_weights(
    terms: Sequence[str],
    counts: Sequence[int],
    names: Sequence[int],
    df: Sequence[int],
    documents: int,
    top: int = TOP_TERMS,
) -> dict[str, float]:
    """The ``top`` terms by tf·idf (names and the first ``LEAD_TERMS`` boosted), weights
    normalised to sum to 1; of equal weights, the one in more documents first (what other
    articles share links them), then the one the article uses first (``terms`` come in the order
    they first occur). Terms come as arrays: each term's count, which of them are names (by
    position) and document frequency.

    An article's few hundred terms share few counts and few document frequencies: each factor
    is computed once per value (``math.log``, as the textbook formula is), the products for all
    terms at once, in the formula's order, so every weight is the same float.
    """
    if not terms:
        return {}
    size = len(terms)
    tf_of = {n: 1 + math.log(n) for n in set(counts)}
    idf_of = {d: idf(d, documents) for d in set(df)}
    tf = np.fromiter(map(tf_of.__getitem__, counts), np.float64, size)
    weights = np.fromiter(map(idf_of.__getitem__, df), np.float64, size)
    boost = np.ones(size)
    boost[list(names)] = NAME_BOOST
    boost[:LEAD_TERMS] *= LEAD_BOOST
    scores = tf * weights * boost
    best = [(terms[n], w) for n, w in zip(*_strongest(scores, df, top), strict=True)]
    total = sum(w for _, w in best if w > 0)
    return {t: w / total for t, w in best if w > 0} if total else {}


def _strongest(
    scores: npt.NDArray[np.float64], df: Sequence[int], top: int
) -> tuple[list[int], list[float]]:
    """Positions by score, then document frequency, both descending; then position."""
    order = np.lexsort((-np.asarray(df, dtype=np.int64), -scores))[:top]
    return order.tolist(), scores[order].tolist()
