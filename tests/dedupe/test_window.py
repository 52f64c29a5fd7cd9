"""Which time slices the index files an article under and searches."""

from services.dedupe.window import SKEW_MS, Window

DAY = 86_400_000
W = Window(horizon_ms=14 * DAY)


def test_a_generation_is_half_the_horizon() -> None:
    assert (W.generation(0), W.generation(7 * DAY - 1), W.generation(7 * DAY)) == (0, 0, 1)


def test_the_search_covers_every_generation_back_to_the_horizon() -> None:
    now = 100 * DAY
    assert list(W.searched(now, now)) == [W.generation(now - 14 * DAY) + i for i in range(3)]


def test_the_search_reaches_a_generation_ahead_for_clock_skew() -> None:
    now = 7 * DAY - SKEW_MS // 2
    assert W.generation(7 * DAY) in W.searched(now, now)


def test_an_entry_expires_a_horizon_after_ingest() -> None:
    assert W.entry_expiry_ms(ingest_ms=DAY, now_ms=DAY + 5) == 15 * DAY


def test_an_article_older_than_the_horizon_still_lives_while_it_is_judged() -> None:
    assert W.entry_expiry_ms(ingest_ms=0, now_ms=30 * DAY) == 30 * DAY + SKEW_MS


def test_an_article_is_filed_by_when_it_is_indexed_not_when_it_was_ingested() -> None:
    assert W.filed(now_ms=30 * DAY, ingest_ms=0) == W.generation(30 * DAY)


def test_a_generation_outlives_every_entry_filed_in_it() -> None:
    last_ingest = 7 * DAY - 1  # the last millisecond of generation 0
    assert W.generation_expiry_ms(0) > W.entry_expiry_ms(last_ingest, last_ingest)
