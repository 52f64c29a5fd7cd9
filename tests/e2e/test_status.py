"""What `newsdedup up` says of the judge's lag: once when it falls behind, once when it is back."""

from __future__ import annotations

from services.cli.status import LagWarning
from shared.progress import JudgeStatus


def judge(lag_s: float, waiting: int = 10, holder: str | None = "dedupe-1") -> JudgeStatus:
    return JudgeStatus(holder, 1, waiting, lag_s, None)


def test_the_lag_warning_is_said_once_when_the_judge_falls_behind_and_once_when_back() -> None:
    warning = LagWarning(60)
    said = [warning.line(judge(lag)) for lag in (0, 30, 61, 90, 120, 59, 0, 75)]
    assert [line is not None for line in said] == [False, False, True, False, False, True,
                                                   False, True]  # fmt: skip
    assert said[2] == ("warning: the judge is 61 s behind, 10 articles waiting; judging: "
                       "dedupe-1. `newsdedup status` says more")  # fmt: skip
    assert said[5] == "the judge has caught up: 10 articles waiting"


def test_the_lag_warning_says_when_no_process_holds_the_lease() -> None:
    line = LagWarning(60).line(judge(300, holder=None))
    assert line is not None and "no dedupe process (the lease is free)" in line
