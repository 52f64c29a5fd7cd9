"""Document frequencies as counts of term keys: exact, before and after merging."""

from collections import Counter

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from services.dedupe.judge.key_counts import KeyCounts

KEYS = st.integers(0, 2**64 - 1)


def keys(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.uint64)


@given(st.lists(st.lists(KEYS | st.sampled_from([0, 7, 2**63]), max_size=12), max_size=30),
       st.lists(KEYS, max_size=10), st.integers(1, 20))  # fmt: skip
def test_counts_are_those_of_a_counter_whenever_the_waiting_keys_merge(
    batches: list[list[int]], asked: list[int], merge_at: int
) -> None:
    counts, expected = KeyCounts(merge_at=merge_at), Counter[int]()
    for batch in batches:
        counts.add(keys(batch))
        expected.update(batch)
    every = list(expected) + asked
    assert counts.get(keys(every)).tolist() == [expected[k] for k in every]
    assert len(counts) == len(expected)


def test_a_key_never_counted_counts_zero_in_an_empty_or_merged_index() -> None:
    counts = KeyCounts(merge_at=2)
    assert counts.get(keys([5])).tolist() == [0]
    counts.add(keys([3, 9]))
    counts.add(keys([9]))
    assert counts.get(keys([1, 3, 9, 2**64 - 1])).tolist() == [0, 1, 2, 0]
