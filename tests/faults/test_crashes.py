"""Kill -9 a worker in the middle of a run: nothing lost, nothing doubled, and the same verdicts
as a run without the crash.

The suite sends 1,000 articles per run; ``NEWSDEDUP_FAULT_ARTICLES=5000`` sends the issue's 5,000
(about 90 s a run on two cores). The undisturbed run is the ``reference`` fixture.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from services.cli.stack import Stack
from shared.streams import DEDUPE_GROUP
from tests.faults.load import (
    BODIES,
    COUNT,
    Posted,
    all_stored,
    fault_stack,
    post_all,
    published,
    shape,
    stored,
    stored_count,
)
from tests.waiting import wait_until


@pytest.fixture
def stack(redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    with fault_stack(redis_url, tmp_path / "data") as running:
        yield running


def _crash_and_recover(stack: Stack, service: str) -> tuple[Posted, int, float]:
    posted = post_all(stack, BODIES)
    killed_at = wait_until(lambda: stored_count(stack), lambda n: n >= COUNT // 10, timeout=60)
    stack.kill(service)
    started = time.monotonic()
    stack.start_service(service)
    all_stored(stack)
    recovery = time.monotonic() - started
    # Printed with -s; the closing note quotes these figures.
    print(f"\nkill -9 {service}: sent {len(posted.ids)}, stored when killed {killed_at}, "
          f"all stored {recovery:.1f} s after the restart")  # fmt: skip
    return posted, killed_at, recovery


@pytest.mark.parametrize("service", ["dedupe", "store"])
def test_killing_a_worker_loses_nothing_doubles_nothing_and_changes_no_verdict(
    stack: Stack, service: str, reference: list[tuple[str, int]]
) -> None:
    posted, killed_at, _ = _crash_and_recover(stack, service)
    rows = stored(stack)
    assert killed_at < COUNT, "the worker was not killed mid-run; the test proved nothing"
    assert sorted(rows) == sorted(posted.ids)  # none lost, none extra
    assert set(published(stack).values()) == {1}  # each verdict published exactly once
    assert shape(posted.ids, rows) == reference


def _pending(stack: Stack) -> int:
    assert stack.redis_url
    client = redis.Redis.from_url(stack.redis_url)
    count = int(client.xpending(stack.settings.stream_raw, DEDUPE_GROUP)["pending"])
    client.close()
    return count


def test_sigterm_stops_a_worker_gracefully_and_its_work_is_finished_once(
    stack: Stack, reference: list[tuple[str, int]]
) -> None:
    posted = post_all(stack, BODIES)
    wait_until(lambda: stored_count(stack), lambda n: n >= COUNT // 10, timeout=60)
    started = time.monotonic()
    code = stack.terminate("dedupe")
    stopped_in = time.monotonic() - started
    left_pending = _pending(stack)
    stack.start_service("dedupe")
    all_stored(stack)
    print(f"\nSIGTERM dedupe: stopped after {stopped_in:.1f} s, {left_pending} left pending")
    # uvicorn shuts down, then re-raises the signal so supervisors see why it exited.
    assert code == -signal.SIGTERM
    assert left_pending == 0  # the batch in hand was finished, not abandoned
    assert sorted(stored(stack)) == sorted(posted.ids)
    assert set(published(stack).values()) == {1}
    assert shape(posted.ids, stored(stack)) == reference
