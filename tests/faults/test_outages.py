"""Redis restarting and the database going away mid-stream: the services wait it out and finish;
nothing accepted with 202 is lost, nothing is stored twice, nothing is acked before it is stored."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import redis

from services.cli.stack import Stack
from shared.embedded import EmbeddedRedis
from shared.models import DeadLetter
from shared.streams import STORE_GROUP, decode
from tests.conftest import isolated_settings
from tests.faults.load import Posted, corpus, post_all, published, stored, stored_count
from tests.waiting import wait_until

COUNT = 1000
OUTAGE_SECONDS = 10.0


BODIES = corpus(COUNT, seed=9)


class Background:
    """Posts from a thread while the test breaks things; ``posted`` fills as answers come."""

    def __init__(self, stack: Stack, bodies: list[dict[str, Any]]) -> None:
        self.posted = Posted()
        self._thread = threading.Thread(target=post_all, args=(stack, bodies, 50, self.posted))
        self._thread.start()

    def join(self) -> Posted:
        self._thread.join(timeout=300)
        assert not self._thread.is_alive(), "posting did not finish"
        return self.posted


def _dead_letters(stack: Stack) -> list[DeadLetter]:
    assert stack.redis_url
    client = redis.Redis.from_url(stack.redis_url)
    letters = [decode(DeadLetter, f) for _, f in client.xrange(stack.settings.stream_dead)]
    client.close()
    return letters


def _assert_all_stored_once(stack: Stack, posted: Posted) -> None:
    wait_until(lambda: stored_count(stack), lambda n: n >= len(posted.ids), timeout=180)
    assert sorted(stored(stack)) == sorted(posted.ids)
    assert set(published(stack).values()) == {1}
    assert _dead_letters(stack) == []


def test_a_redis_restart_mid_stream_loses_nothing_accepted(tmp_path: Path) -> None:
    settings = isolated_settings(None, tmp_path / "data", ingest_port=0, store_port=0)
    with Stack(settings) as stack:  # its own embedded Redis, append-only file on
        assert stack.redis is not None
        before = post_all(stack, BODIES[: COUNT // 2])
        wait_until(lambda: stored_count(stack), lambda n: n >= COUNT // 5, timeout=60)
        stack.redis.stop()  # SIGTERM-like shutdown: Redis flushes its append-only file
        down_at = time.monotonic()
        sending = Background(stack, BODIES[COUNT // 2 :])
        wait_until(lambda: sending.posted.refused + sending.posted.unreachable, bool, timeout=30)
        stack.redis = EmbeddedRedis(stack.redis.data_dir, port=stack.redis.port).start()
        during = sending.join()
        posted = Posted(before.ids + during.ids, during.refused, during.unreachable)
        _assert_all_stored_once(stack, posted)
        recovery = time.monotonic() - down_at
    print(f"\nredis restart: accepted {len(posted.ids)}, 503 answers {posted.refused}, "
          f"connection errors {posted.unreachable}, "
          f"all stored {recovery:.1f} s after the stop")  # fmt: skip
    assert len(posted.ids) == COUNT


@contextmanager
def _sqlite_down(url: str) -> Iterator[None]:
    """An exclusive lock: every write of the store's fails with 'database is locked'."""
    conn = sqlite3.connect(url.split("///", 1)[1], timeout=30, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


@contextmanager
def _postgres_down(url: str) -> Iterator[None]:
    """No connections to the database: the store's are cut, new ones refused."""
    name = url.rsplit("/", 1)[1]
    admin_url = (
        url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    )

    async def admin(*statements: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(
        f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false',
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
    ))  # fmt: skip
    try:
        yield
    finally:
        asyncio.run(admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))


def _store_unacked(stack: Stack) -> int:
    """Verdicts the store group has not acked: pending, or not yet read."""
    assert stack.redis_url
    client = redis.Redis.from_url(stack.redis_url)
    total = 0
    for stream in (stack.settings.stream_canonical, stack.settings.stream_duplicates):
        group = next(g for g in client.xinfo_groups(stream) if g["name"].decode() == STORE_GROUP)
        last = group["last-delivered-id"]
        read = len(client.xrange(stream, "-", last)) if last != b"0-0" else 0
        total += client.xlen(stream) - read + group["pending"]
    client.close()
    return total


def test_a_database_outage_is_waited_out_and_nothing_is_acked_early(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    outage = _sqlite_down if database_url.startswith("sqlite") else _postgres_down
    settings = isolated_settings(
        redis_url, tmp_path / "data", ingest_port=0, store_port=0, database_url=database_url
    )
    with Stack(settings) as stack:
        sending = Background(stack, BODIES)
        wait_until(lambda: stored_count(stack), lambda n: n >= COUNT // 5, timeout=60)
        with outage(database_url):
            began = time.monotonic()
            stored_before = len(stored(stack)) if database_url.startswith("sqlite") else None
            # The outage lasts its ten seconds: that is the fault, not a wait for work.
            time.sleep(OUTAGE_SECONDS)
            unacked = _store_unacked(stack)
            if stored_before is not None:
                assert len(stored(stack)) == stored_before  # nothing written while locked
        posted = sending.join()
        _assert_all_stored_once(stack, posted)
        recovery = time.monotonic() - began - OUTAGE_SECONDS
    print(f"\ndatabase outage ({database_url.split(':')[0]}): accepted {len(posted.ids)}, "
          f"unacked verdicts at the end of the outage {unacked}, "
          f"all stored {recovery:.1f} s after it ended")  # fmt: skip
    assert unacked > 0, "the store acked verdicts it could not have written"
