"""``tail``: the user's own group starts where the user says, not where the system's groups
start (always at the first entry); ``--count`` from the start ends with the stream."""

from __future__ import annotations

import threading

import fakeredis
import redis

from services.cli.tail import tail
from shared.settings import Settings
from tests.waiting import wait_until


def _tail_one_in_background(
    client: redis.Redis, stream: str, from_start: bool
) -> tuple[threading.Thread, list[str]]:
    lines: list[str] = []
    thread = threading.Thread(
        target=tail, args=(client, stream, lines.append),
        kwargs={"group": "mine", "from_start": from_start, "count": 1}, daemon=True,
    )  # fmt: skip
    thread.start()
    return thread, lines


def _groups(client: redis.Redis, stream: str) -> list[str]:
    return [str(g["name"], "utf-8") for g in client.xinfo_groups(stream)]


def test_a_new_tail_group_starts_after_the_entries_already_there(
    redis_url: str, settings: Settings
) -> None:
    client = redis.Redis.from_url(redis_url)
    stream = settings.stream_canonical
    client.xadd(stream, {"__data__": b'{"n": "before"}'})
    thread, lines = _tail_one_in_background(client, stream, from_start=False)
    wait_until(lambda: _groups(client, stream), lambda groups: "mine" in groups)
    client.xadd(stream, {"__data__": b'{"n": "after"}'})
    thread.join(timeout=20)
    assert lines == ['{"n": "after"}']


def test_a_new_tail_group_from_the_start_reads_what_is_there(
    redis_url: str, settings: Settings
) -> None:
    client = redis.Redis.from_url(redis_url)
    stream = settings.stream_canonical
    client.xadd(stream, {"__data__": b'{"n": "before"}'})
    thread, lines = _tail_one_in_background(client, stream, from_start=True)
    thread.join(timeout=20)
    assert lines == ['{"n": "before"}']


def test_a_count_from_the_start_prints_what_there_is_and_ends_with_the_stream() -> None:
    client = fakeredis.FakeRedis()
    for n in range(3):
        client.xadd("verdicts", {"__data__": f'{{"n": {n}}}'.encode()})
    lines: list[str] = []
    written = tail(client, "verdicts", lines.append, from_start=True, count=10)
    assert written == 3
    assert lines == ['{"n": 0}', '{"n": 1}', '{"n": 2}']


def test_a_count_through_a_group_from_the_start_ends_with_the_stream() -> None:
    client = fakeredis.FakeRedis()
    client.xadd("verdicts", {"__data__": b'{"n": 0}'})
    lines: list[str] = []
    assert tail(client, "verdicts", lines.append, from_start=True, group="g", count=5) == 1
    assert tail(client, "verdicts", lines.append, from_start=True, group="g", count=5) == 0
    assert lines == ['{"n": 0}']
