"""Side-by-side comparison of two texts."""

from services.store.compare import Segment, side_by_side


def test_identical_texts_have_no_marked_passage() -> None:
    left, right = side_by_side("Rubio traf Lawrow.", "Rubio  traf\nLawrow.")
    assert left == right == [Segment("Rubio traf Lawrow.", changed=False)]


def test_added_and_replaced_words_are_marked_on_their_side() -> None:
    left, right = side_by_side(
        "Rubio traf Lawrow in Riad.", "Quelle: dpa Rubio traf Lawrow in Riyadh."
    )
    assert left == [Segment("Rubio traf Lawrow in", False), Segment("Riad.", True)]
    assert right == [
        Segment("Quelle: dpa", True), Segment("Rubio traf Lawrow in", False),
        Segment("Riyadh.", True),
    ]  # fmt: skip
