"""A 202 holds from the very first request: articles accepted while dedupe or the store has never
run, or after their consumer groups were deleted by hand, are all judged and stored once, with the
verdicts of an undisturbed run. Each service runs as its own process on a real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from services.cli.stack import Stack
from tests.faults.load import (
    BODIES,
    COUNT,
    all_stored,
    fault_stack,
    post_all,
    published,
    shape,
    stored,
)
from tests.waiting import wait_until


@pytest.fixture
def stack(reference: list[tuple[str, int]], redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    """Redis only: each test starts the services in its own order. Its ports are chosen once
    the undisturbed run (``reference``) is over, so none of that run's services takes one of
    them while this stack's services have not started yet."""
    stack = fault_stack(redis_url, tmp_path / "data")
    stack.start_redis()
    try:
        yield stack
    finally:
        stack.stop()


def _client(stack: Stack) -> redis.Redis:
    assert stack.redis_url
    return redis.Redis.from_url(stack.redis_url)


def _verdicts_published(stack: Stack) -> int:
    with _client(stack) as client:
        streams = (stack.settings.stream_canonical, stack.settings.stream_duplicates)
        return sum(int(client.xlen(stream)) for stream in streams)


def _stored_once_as_before(stack: Stack, ids: list[str], reference: list[tuple[str, int]]) -> None:
    all_stored(stack)
    rows = stored(stack)
    assert sorted(rows) == sorted(ids)  # none lost, none extra
    assert set(published(stack).values()) == {1}  # each verdict published exactly once
    assert shape(ids, rows) == reference


def test_articles_accepted_before_dedupe_and_the_store_first_start_are_all_stored(
    stack: Stack, reference: list[tuple[str, int]]
) -> None:
    stack.start_service("ingest")
    posted = post_all(stack, BODIES)
    assert len(posted.ids) == COUNT
    stack.start_service("dedupe")
    # Every verdict is published before the store's first start.
    wait_until(lambda: _verdicts_published(stack), lambda n: n >= COUNT, timeout=180)
    stack.start_service("store")
    _stored_once_as_before(stack, posted.ids, reference)


def test_articles_accepted_before_the_store_and_then_dedupe_start_are_all_stored(
    stack: Stack, reference: list[tuple[str, int]]
) -> None:
    stack.start_service("ingest")
    posted = post_all(stack, BODIES)
    stack.start_service("store")
    stack.start_service("dedupe")
    _stored_once_as_before(stack, posted.ids, reference)


def test_dedupe_recreates_groups_deleted_by_hand_and_judges_what_is_there(
    stack: Stack, reference: list[tuple[str, int]]
) -> None:
    for service in ("store", "dedupe", "ingest"):
        stack.start_service(service)
    stack.terminate("dedupe")
    stack.terminate("store")
    settings = stack.settings
    with _client(stack) as client:
        groups = [(stream, str(group["name"], "utf-8"))
                  for stream in (*settings.raw_streams, settings.stream_canonical,
                                 settings.stream_duplicates)
                  for group in client.xinfo_groups(stream)]  # fmt: skip
        assert len(groups) == 2 * len(settings.raw_streams) + 2  # text work and judge; store
        for stream, group in groups:
            client.xgroup_destroy(stream, group)
    posted = post_all(stack, BODIES)
    stack.start_service("dedupe")
    stack.start_service("store")
    _stored_once_as_before(stack, posted.ids, reference)
