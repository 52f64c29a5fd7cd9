"""When a partition has delivered far enough for an article to be judged canonical."""

from services.dedupe.partitions import delivered_past

EARLIER, LATER = "01M7Z0TDY69TT9FMKGHDY6436V", "01M7Z0TDZ21PV3BB4RR29H8W84"


def test_a_partition_that_delivered_everything_holds_nothing_earlier() -> None:
    assert delivered_past("", LATER)


def test_a_partition_that_delivered_a_later_article_holds_nothing_earlier() -> None:
    assert delivered_past(LATER, EARLIER)


def test_a_partition_that_delivered_only_an_earlier_article_may_hold_more() -> None:
    assert not delivered_past(EARLIER, LATER)


def test_a_partition_that_delivered_nothing_yet_may_hold_anything() -> None:
    assert not delivered_past("0", EARLIER)
