"""The judge's lease under faults, with two dedupe replicas on a real Redis: a judge paused past
its lease is fenced off, and a killed judge is replaced with nothing lost, nothing doubled and
the same verdicts as an undisturbed run.

The suite sends 1,000 articles per run; ``NEWSDEDUP_FAULT_ARTICLES=5000`` sends the issue's 5,000.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.cli.stack import Stack
from shared.redis import sync_client
from shared.streams import keys_for
from tests.conftest import isolated_settings
from tests.faults.load import (
    BODIES,
    COUNT,
    all_stored,
    post_all,
    published,
    shape,
    stored,
)
from tests.waiting import wait_until

LEASE_MS = 1_000  # short, so that the takeovers below take a second, not five


@pytest.fixture
def stack(redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    # Snapshots every 0.2 s of judging: a takeover restores a snapshot a forked copy of the
    # judge wrote while it judged, then the journal after it.
    settings = isolated_settings(
        redis_url, tmp_path / "data", ingest_port=0, store_port=0, judge_lease_ms=LEASE_MS,
        judge_snapshot_every=200, judge_replay_seconds=0.2,
    )  # fmt: skip
    with Stack(settings) as running:
        running.start_service("dedupe", replica=1)
        yield running


def judging(stack: Stack) -> str:
    """The name of the dedupe process holding the judge's lease."""
    assert stack.redis_url
    client = sync_client(stack.redis_url)
    value = wait_until(lambda: client.get(keys_for(stack.settings).judge_lease()), bool)
    client.close()
    holder = value.decode().split(":", 1)[1]  # <token>:<consumer name>, named <process>-<ns>
    return holder.rsplit("-", 1)[0]


def verdicts(stack: Stack) -> int:
    return sum(published(stack).values())


def test_a_judge_paused_past_its_lease_publishes_nothing_when_it_wakes(stack: Stack) -> None:
    posted = post_all(stack, BODIES[: COUNT // 2])
    wait_until(lambda: verdicts(stack), lambda n: n >= COUNT // 10, timeout=60)
    paused = judging(stack)
    process = stack.processes[paused]
    os.kill(process.pid, signal.SIGSTOP)
    try:
        other = wait_until(lambda: judging(stack), lambda name: name != paused, timeout=30)
        posted.ids += post_all(stack, BODIES[COUNT // 2 :]).ids
        all_stored(stack)
        before = published(stack)
    finally:
        os.kill(process.pid, signal.SIGCONT)
    log = stack.log_dir / f"{paused}.log"
    wait_until(lambda: log.read_text(errors="replace"), lambda text: "lease lost" in text)
    after = published(stack)
    counts = f"verdicts {sum(before.values())} before, {sum(after.values())} after"
    print(f"\nSIGSTOP {paused}: {other} took over; SIGCONT: it logged its lost lease; {counts}")
    assert after == before  # it published nothing
    assert set(after.values()) == {1}
    assert sorted(after) == sorted(posted.ids) == sorted(stored(stack))


def test_killing_the_judge_hands_judging_to_another_replica_with_the_same_verdicts(
    stack: Stack, reference: list[tuple[str, int]]
) -> None:
    posted = post_all(stack, BODIES)
    killed_at = wait_until(lambda: verdicts(stack), lambda n: n >= COUNT // 10, timeout=60)
    judge = judging(stack)
    stack.kill(judge)
    killed = time.monotonic()
    wait_until(lambda: verdicts(stack), lambda n: n > killed_at + 100 or n == COUNT, timeout=60)
    judging_again = time.monotonic() - killed
    all_stored(stack)
    rows = stored(stack)
    print(f"\nkill -9 {judge} after {killed_at} verdicts: {judging(stack)} judging again "
          f"{judging_again:.1f} s later (lease {LEASE_MS} ms); all {COUNT} stored")  # fmt: skip
    assert killed_at < COUNT, "the judge was not killed mid-run; the test proved nothing"
    assert sorted(rows) == sorted(posted.ids)
    assert set(published(stack).values()) == {1}
    assert shape(posted.ids, rows) == reference
