"""The measures on hand-made pairs of real text, through the judge, and their parts on their own."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from services.dedupe.judge.judge import Judge, Judged
from services.dedupe.judge.overlap_table import OverlapTable
from services.dedupe.text.normalize import joined_words
from services.dedupe.text.pairs import MAX_WORDS, lead_keys, word_hashes
from tests.conftest import SEEDS
from tests.dedupe.test_judge import CONFIG, at, judge_all

PARAGRAPHS = [
    [p for p in path.read_text(encoding="utf-8").split("\n") if p.strip()] for path in SEEDS
]
QUOTES = (
    '„Wir sind bereit, über alles zu sprechen, was zu einem gerechten Frieden führt", sagte '
    'der Minister. „Aber über die Ukraine wird nicht ohne die Ukraine entschieden." Und weiter: '
    "„Europa muss am Tisch sitzen, wenn über seine Sicherheit gesprochen wird, sonst wird es "
    'keinen dauerhaften Frieden geben, das wissen alle Beteiligten in Riad sehr genau."'
)


def _edited(text: str, every: int) -> str:
    """Every ``every``-th word replaced by a word of no other text."""
    words = text.split()
    return " ".join(f"ersatz{n}" if n % every == every - 1 else w for n, w in enumerate(words))


def _pair(first: str, second: str) -> tuple[Judged, Judged]:
    a, b = judge_all(Judge(CONFIG), [at(1_000, first), at(2_000, second)])
    return a, b


def test_a_copy_with_twelve_percent_of_its_words_edited_is_a_duplicate_by_word_pairs() -> None:
    full = "\n".join(PARAGRAPHS[2])
    _, copy = _pair(full, _edited(full, 8))
    assert (copy.decision.status, copy.decision.measure) == ("duplicate", "pair_jaccard")
    assert copy.decision.similarity is not None and 0.58 <= copy.decision.similarity < 0.8


def test_two_articles_on_one_event_sharing_their_quotes_are_both_canonical() -> None:
    first = "\n".join([*PARAGRAPHS[0][:8], QUOTES])
    second = "\n".join([*PARAGRAPHS[3][:8], QUOTES])
    a, b = _pair(first, second)
    assert (a.decision.status, b.decision.status) == ("canonical", "canonical")


def test_a_three_paragraph_teaser_of_a_ten_paragraph_article_is_a_duplicate_by_containment() -> (
    None
):
    full = "\n".join(PARAGRAPHS[0][:10])
    _, teaser = _pair(full, "\n".join(PARAGRAPHS[0][:3]))
    assert (teaser.decision.status, teaser.decision.measure) == ("duplicate", "containment")
    assert teaser.decision.similarity == 1.0


def test_a_full_article_posted_after_its_teaser_is_a_duplicate_of_the_teaser() -> None:
    _, full = _pair("\n".join(PARAGRAPHS[0][:3]), "\n".join(PARAGRAPHS[0][:10]))
    assert (full.decision.status, full.decision.measure) == ("duplicate", "containment")


def test_a_twenty_word_text_is_judged_by_its_shingles_only() -> None:
    # Two of twenty words edited: 15 of 19 word pairs shared (Jaccard 0.65), 6 of 16 shingles
    # (0.23). Three of forty: 33 of 39 pairs (0.73), 21 of 36 shingles (0.41).
    words = " ".join(PARAGRAPHS[0]).split()
    short, longer = words[:20], words[:40]
    short[6], short[13] = "ersatz1", "ersatz2"
    longer[6], longer[13], longer[27] = "ersatz1", "ersatz2", "ersatz3"
    _, edited_short = _pair(" ".join(words[:20]), " ".join(short))
    _, edited_longer = _pair(" ".join(words[:40]), " ".join(longer))
    assert edited_short.decision.status == "canonical"
    assert (edited_longer.decision.status, edited_longer.decision.measure) == (
        "duplicate", "pair_jaccard",
    )  # fmt: skip


def test_word_hashes_keep_the_order_and_the_first_max_words() -> None:
    words = word_hashes(joined_words("Eins zwei drei zwei"))
    assert words.dtype == np.uint16 and len(words) == 4 and words[1] == words[3] != words[0]
    assert len(word_hashes(joined_words("wort " * (MAX_WORDS + 10)))) == MAX_WORDS


def windows(words: np.ndarray, size: int) -> set[tuple[int, ...]]:
    """The oracle: a text's distinct ``size``-word windows (a shorter text is one window)."""
    if len(words) == 0:
        return set()
    size = min(size, len(words))
    return {tuple(words[n : n + size].tolist()) for n in range(len(words) - size + 1)}


def test_windows_are_distinct_and_a_short_text_is_one_window() -> None:
    words = np.array([1, 2, 3, 1, 2, 3], dtype=np.uint16)
    assert OverlapTable(words, 2).pair_count == 3  # (1 2) (2 3) (3 1)
    assert OverlapTable(words[:3], 5).shingle_count == 1
    assert OverlapTable(words[:0], 5).shingle_count == 0


texts = st.lists(st.integers(0, 12), max_size=60).map(lambda w: np.array(w, dtype=np.uint16))


@given(texts, st.lists(texts, max_size=4), st.integers(1, 6))
def test_the_compiled_windows_count_what_sets_of_windows_count(
    own: np.ndarray, others: list[np.ndarray], size: int
) -> None:
    counted = OverlapTable(own, size)
    assert (counted.shingle_count, counted.pair_count) == (
        len(windows(own, size)), len(windows(own, 2)),
    )  # fmt: skip
    lengths = np.array([len(o) for o in others], dtype=np.int64)
    joined = np.concatenate([own[:0], *others])
    shingles, pairs = counted.common(joined, np.cumsum(lengths) - lengths, np.cumsum(lengths))
    assert shingles.tolist() == [len(windows(own, size) & windows(o, size)) for o in others]
    assert pairs.tolist() == [len(windows(own, 2) & windows(o, 2)) for o in others]


def test_a_teaser_and_its_full_article_share_their_lead_keys_and_others_do_not() -> None:
    def keys(text: str) -> set[int]:
        return set(lead_keys(word_hashes(joined_words(text))).tolist())

    full, teaser = "\n".join(PARAGRAPHS[0][:10]), "\n".join(PARAGRAPHS[0][:3])
    assert len(keys(full)) == 2 and keys(full) == keys(teaser)
    assert not keys(full) & keys("\n".join(PARAGRAPHS[3][:3]))
