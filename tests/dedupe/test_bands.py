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


def test_a_restored_index_finds_what_the_original_did() -> None:
    index = BandIndex(merge_at=100)
    for slot in range(50):
        index.add(slot, [slot % 7, 100 + slot])
    again = BandIndex.restored(*index.state())
    for key in (3, 105, 200):
        assert again.find(keys(key)) == index.find(keys(key))
    assert again.find(keys(3)) == {n for n in range(50) if n % 7 == 3}
