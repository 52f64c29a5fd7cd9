"""ULIDs: the ingest order every service reads from an article id alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.ids import id_from_bytes, id_time_ms, id_to_bytes, new_id

RAW = st.binary(min_size=16, max_size=16)


@given(RAW)
def test_an_id_round_trips_through_its_sixteen_bytes(raw: bytes) -> None:
    article_id = id_from_bytes(raw)
    assert len(article_id) == 26
    assert id_to_bytes(article_id) == raw


@given(RAW, RAW)
def test_ids_sort_as_their_bytes(a: bytes, b: bytes) -> None:
    assert (id_from_bytes(a) < id_from_bytes(b)) == (a < b)


@given(st.integers(min_value=0, max_value=2**48 - 1), st.integers(min_value=0, max_value=2**80 - 1))
def test_an_id_carries_its_millisecond_in_its_first_48_bits(ms: int, rest: int) -> None:
    assert id_time_ms(id_from_bytes(((ms << 80) | rest).to_bytes(16, "big"))) == ms


def test_the_first_ten_characters_are_the_milliseconds_in_crockford_base32() -> None:
    assert (
        id_from_bytes((32**16 * 12345).to_bytes(16, "big"))[:10] == "0000000C1S"
    )  # 12345 = 12·32² + 1·32 + 25


def test_a_lower_case_id_is_the_same_id() -> None:
    article_id = new_id()
    assert id_to_bytes(article_id.lower()) == id_to_bytes(article_id)


@pytest.mark.parametrize("bad", ["I" * 26, "0" * 25 + "U", "٣" * 26, "+" + "0" * 25, ""])
def test_text_outside_crockford_base32_is_no_id(bad: str) -> None:
    with pytest.raises(ValueError):
        id_to_bytes(bad)


def test_new_ids_come_back_the_same_from_their_sixteen_bytes() -> None:
    # new_id's own clock: an id from the future would make every later id of this process later.
    article_ids = [new_id() for _ in range(1000)]
    assert [id_from_bytes(id_to_bytes(i)) for i in article_ids] == article_ids
