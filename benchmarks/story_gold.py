"""Gold story groups for the English news, and scores of a story assignment against them.

Same event, by a rule a reader can check: two articles published on the same day whose headline
and lead sentence (dateline removed) share at least ``MIN_RARE_SHARED`` rare terms (in the
headline or lead of at most ``RARE_SHARE`` of all articles: names, places, the event's own
words; not "Russia" or "police") and whose headline/lead terms overlap by at least
``MIN_JACCARD`` are about the same event (terms as the engine extracts them: function words out,
stemmed); groups are joined transitively. The rule is stricter than the engine's (which
reads whole articles and knows nothing of publication days), so that its groups are believable;
``--spot-check`` prints pairs it links, to read.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence

from benchmarks.corpus import Doc
from services.dedupe.text.terms import TermCounter

MIN_RARE_SHARED = 2
RARE_SHARE = 0.005
MIN_JACCARD = 0.2
_DATELINE = re.compile(r"^[A-Z][A-Za-z .,'-]{1,40}, [A-Z][a-z]+ \d{1,2}\. /[A-Z-]+/\.\s*")
_FIRST_SENTENCE = re.compile(r"^(.{20,400}?[.!?])(\s|$)", re.S)


def headline_lead_terms(doc: Doc) -> set[str]:
    text = _DATELINE.sub("", doc.text)
    lead = _FIRST_SENTENCE.match(text)
    return set(TermCounter().count(lead.group(1) if lead else text[:300], doc.title).counts)


def same_event_pairs(docs: Sequence[Doc]) -> list[tuple[int, int]]:
    by_day: dict[str | None, list[int]] = defaultdict(list)
    for i, doc in enumerate(docs):
        by_day[doc.day].append(i)
    terms = [headline_lead_terms(d) for d in docs]
    frequency = Counter(t for ts in terms for t in ts)
    rare = {t for t, n in frequency.items() if n <= RARE_SHARE * len(docs)}
    pairs = []
    for members in by_day.values():
        for i, j in itertools.combinations(members, 2):
            shared = terms[i] & terms[j]
            union = terms[i] | terms[j]
            if len(shared & rare) >= MIN_RARE_SHARED and len(shared) / len(union) >= MIN_JACCARD:
                pairs.append((i, j))
    return pairs


def adjusted_rand_index(gold: dict[str, str], predicted: dict[str, str]) -> float:
    def pairs(n: int) -> float:
        return n * (n - 1) / 2

    n = len(gold)
    both = sum(pairs(c) for c in Counter((gold[k], predicted[k]) for k in gold).values())
    a = sum(pairs(c) for c in Counter(gold.values()).values())
    b = sum(pairs(c) for c in Counter(predicted.values()).values())
    expected = a * b / pairs(n) if n > 1 else 0.0
    top = (a + b) / 2 - expected
    return (both - expected) / top if not math.isclose(top, 0.0) else 1.0
