"""The benchmarks' memory count of an object graph."""

import sys

from benchmarks.footprint import deep_size


def test_a_dicts_string_keys_count_and_a_shared_object_counts_once() -> None:
    key = "x" * 1000
    shared = ["y" * 1000]
    graph = {key: shared, "other": shared}
    expected = (
        sys.getsizeof(graph) + sys.getsizeof(key) + sys.getsizeof("other")
        + sys.getsizeof(shared) + sys.getsizeof(shared[0])
    )  # fmt: skip
    assert deep_size(graph) == expected


def test_classes_are_shared_not_owned() -> None:
    assert deep_size([int, str]) == sys.getsizeof([int, str])
