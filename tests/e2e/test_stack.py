"""What a failed run of the local stack leaves behind: the end of each service's log."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli.stack import Stack
from shared.settings import Settings


def _stack_with_logs(tmp_path: Path) -> Stack:
    stack = Stack(Settings(data_dir=str(tmp_path)), ingest_port=0, store_port=0)
    stack.log_dir.mkdir(parents=True)
    (stack.log_dir / "dedupe.log").write_text("".join(f"dedupe line {n}\n" for n in range(100)))
    (stack.log_dir / "store.log").write_text("store started\n")
    return stack


def test_the_log_tails_hold_the_last_lines_of_every_service_log(tmp_path: Path) -> None:
    tails = _stack_with_logs(tmp_path).log_tails(lines=3)
    assert tails.splitlines() == [
        "--- dedupe.log, last 3 lines", "dedupe line 97", "dedupe line 98", "dedupe line 99",
        "--- store.log, last 1 lines", "store started",
    ]  # fmt: skip


def test_leaving_the_stack_by_an_error_prints_the_log_tails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = _stack_with_logs(tmp_path)
    stack.__exit__(RuntimeError, RuntimeError("run failed"), None)
    assert "dedupe line 99" in capsys.readouterr().err


def test_leaving_the_stack_normally_prints_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _stack_with_logs(tmp_path).__exit__(None, None, None)
    assert capsys.readouterr().err == ""
