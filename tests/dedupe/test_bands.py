import pickle

import numpy as np

from services.dedupe.bands import BandIndex


def keys(*values: int) -> np.ndarray:
    return np.asarray(values, dtype=np.uint64)


def test_slots_are_found_under_any_of_their_keys_before_and_after_a_merge() -> None:
    index = BandIndex(merge_at=4)
    index.add(0, [10, 20])
    index.add(1, [20, 30])
    assert index.find(keys(20)) == {0, 1}  # waiting, not merged yet
    index.add(2, [40, 50])  # the sixth key: merged
    index.add(3, [10])
    assert index.find(keys(10)) == {0, 3}  # one merged, one waiting
    assert index.find(keys(30, 50)) == {1, 2}
    assert index.find(keys(99)) == set()
    assert len(index) == 7


def test_keys_merged_into_runs_of_every_size_are_all_found() -> None:
    index = BandIndex(merge_at=3)
    for slot in range(200):
        index.add(slot, [slot % 7, 1_000 + slot])
    assert index.find(keys(3)) == {n for n in range(200) if n % 7 == 3}
    assert index.find(keys(1_000, 1_199)) == {0, 199}
    assert len(index) == 400


def test_an_index_read_back_from_its_pickle_finds_what_it_did() -> None:
    index = BandIndex(merge_at=10)
    for slot in range(50):
        index.add(slot, [slot % 7, 100 + slot])
    again = pickle.loads(pickle.dumps(index))
    for key in (3, 105, 200):
        assert again.find(keys(key)) == index.find(keys(key))
