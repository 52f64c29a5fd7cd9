import pickle

import numpy as np

from services.dedupe.judge.bands import BandIndex


def keys(*values: int) -> np.ndarray:
    return np.asarray(values, dtype=np.uint64)


def found(index: BandIndex, at: np.ndarray, cap: int = 1_000) -> set[int]:
    return set(index.postings(at, cap).tolist())


def test_slots_are_found_under_any_of_their_keys_before_and_after_a_merge() -> None:
    index = BandIndex(merge_at=4)
    index.add(0, [10, 20])
    index.add(1, [20, 30])
    assert found(index, keys(20)) == {0, 1}  # waiting, not merged yet
    index.add(2, [40, 50])  # the sixth key: merged
    index.add(3, [10])
    assert found(index, keys(10)) == {0, 3}  # one merged, one waiting
    assert found(index, keys(30, 50)) == {1, 2}
    assert found(index, keys(99)) == set()
    assert len(index) == 7


def test_keys_merged_into_runs_of_every_size_are_all_found() -> None:
    index = BandIndex(merge_at=3)
    for slot in range(200):
        index.add(slot, [slot % 7, 1_000 + slot])
    assert found(index, keys(3)) == {n for n in range(200) if n % 7 == 3}
    assert found(index, keys(1_000, 1_199)) == {0, 199}
    assert len(index) == 400


def test_an_index_read_back_from_its_pickle_finds_what_it_did() -> None:
    index = BandIndex(merge_at=10)
    for slot in range(50):
        index.add(slot, [slot % 7, 100 + slot])
    again = pickle.loads(pickle.dumps(index))
    for key in (3, 105, 200):
        assert found(again, keys(key)) == found(index, keys(key))


def test_a_key_filed_more_often_than_the_cap_gives_its_newest_slots_once_for_each_key() -> None:
    index = BandIndex(merge_at=8)
    for slot in range(40):  # merged into runs of several sizes, the newest still waiting
        index.add(slot, [1, 100 + slot % 3])
    assert sorted(index.postings(keys(1), 5).tolist()) == [35, 36, 37, 38, 39]
    assert sorted(index.postings(keys(1, 102), 3).tolist()) == [32, 35, 37, 38, 38, 39]
    assert index.postings(keys(7), 5).tolist() == []
