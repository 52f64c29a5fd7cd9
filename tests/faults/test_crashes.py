"""Kill -9 a worker in the middle of a run: nothing lost, nothing doubled, and the same verdicts
as a run without the crash.

The suite sends 1,000 articles per run; ``NEWSDEDUP_FAULT_ARTICLES=5000`` sends the issue's 5,000
(about 90 s a run on two cores).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from services.stack import Stack
from shared.streams import DEDUPE_GROUP
from tests.conftest import isolated_settings
from tests.faults.load import Posted, corpus, post_all, published, shape, stored, stored_count
from tests.waiting import wait_until

COUNT = int(os.environ.get("NEWSDEDUP_FAULT_ARTICLES", "1000"))
BODIES = corpus(COUNT, seed=4)


def _stack(redis_url: str, data_dir: Path) -> Stack:
    return Stack(isolated_settings(redis_url, data_dir, ingest_port=0, store_port=0))


def _all_stored(stack: Stack, timeout: float = 180) -> None:
    wait_until(lambda: stored_count(stack), lambda n: n >= COUNT, timeout=timeout)


@pytest.fixture(scope="module")
def reference(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, int]]:
    """The verdicts of an undisturbed run."""
    with _stack(redis_url, tmp_path_factory.mktemp("reference")) as stack:
        posted = post_all(stack, BODIES)
        _all_stored(stack)
        return shape(posted.ids, stored(stack))


@pytest.fixture
def stack(redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    with _stack(redis_url, tmp_path / "data") as running:
        yield running


def _crash_and_recover(stack: Stack, service: str) -> tuple[Posted, int, float]:
    posted = post_all(stack, BODIES)
    killed_at = wait_until(lambda: stored_count(stack), lambda n: n >= COUNT // 10, timeout=60)
    stack.kill(service)
    started = time.monotonic()
    stack.start_service(service)
    _all_stored(stack)
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
    _all_stored(stack)
    print(f"\nSIGTERM dedupe: stopped after {stopped_in:.1f} s, {left_pending} left pending")
    # uvicorn shuts down, then re-raises the signal so supervisors see why it exited.
    assert code == -signal.SIGTERM
    assert left_pending == 0  # the batch in hand was finished, not abandoned
    assert sorted(stored(stack)) == sorted(posted.ids)
    assert set(published(stack).values()) == {1}
    assert shape(posted.ids, stored(stack)) == reference
