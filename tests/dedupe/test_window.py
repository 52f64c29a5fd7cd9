from services.dedupe.judge.window import Window

DAY = 86_400_000
WINDOW = Window(horizon_ms=14 * DAY)


def test_a_generation_is_half_the_horizon() -> None:
    assert WINDOW.generation_ms == 7 * DAY
    assert [WINDOW.generation(t) for t in (0, 7 * DAY - 1, 7 * DAY)] == [0, 0, 1]


def test_an_entry_is_live_until_a_horizon_after_its_ingest() -> None:
    assert WINDOW.live(DAY, 15 * DAY)
    assert not WINDOW.live(DAY, 15 * DAY + 1)


def test_a_generation_expires_once_its_latest_possible_entry_has() -> None:
    latest = 7 * DAY - 1  # the last ingest time generation 0 holds
    assert not WINDOW.expired(0, latest + 14 * DAY)
    assert WINDOW.expired(0, latest + 14 * DAY + 2)
