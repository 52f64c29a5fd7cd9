"""ULIDs: the ingest order every service reads from an article id alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.ids import id_at, id_time_ms, new_id

MS = st.integers(min_value=0, max_value=2**48 - 1)
SEQUENCE = st.integers(min_value=0, max_value=2**80 - 1)


@given(MS, SEQUENCE)
def test_an_id_carries_its_millisecond_in_its_first_48_bits(ms: int, sequence: int) -> None:
    article_id = id_at(ms, sequence)
    assert len(article_id) == 26
    assert id_time_ms(article_id) == ms


@given(MS, SEQUENCE, MS, SEQUENCE)
def test_ids_sort_as_their_time_then_sequence(a: int, x: int, b: int, y: int) -> None:
    assert (id_at(a, x) < id_at(b, y)) == ((a, x) < (b, y))


def test_the_first_ten_characters_are_the_milliseconds_in_crockford_base32() -> None:
    assert id_at(12345, 0)[:10] == "0000000C1S"  # 12345 = 12·32² + 1·32 + 25


def test_a_lower_case_id_is_the_same_id() -> None:
    article_id = new_id()
    assert id_time_ms(article_id.lower()) == id_time_ms(article_id)


@pytest.mark.parametrize("bad", ["I" * 26, "0" * 25 + "U", "٣" * 26, "+" + "0" * 25, ""])
def test_text_outside_crockford_base32_is_no_id(bad: str) -> None:
    with pytest.raises(ValueError):
        id_time_ms(bad)


def test_new_ids_of_one_process_increase_inside_one_millisecond() -> None:
    article_ids = [new_id() for _ in range(1000)]
    assert article_ids == sorted(article_ids)
    assert len(set(article_ids)) == len(article_ids)
