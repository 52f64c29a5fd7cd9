"""The command line's argument handling, in-process on fakeredis: what each command takes, says
and refuses. The same commands run against a real Redis in ``tests/e2e/test_cli.py``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import fakeredis
import pytest
from click.testing import CliRunner

from services.cli import main as cli
from shared.models import DeadLetter
from shared.settings import Settings
from shared.streams import encode

URL = "redis://fake:6379/0"


@pytest.fixture
def redis(monkeypatch: pytest.MonkeyPatch) -> Iterator[fakeredis.FakeRedis]:
    server = fakeredis.FakeServer()
    monkeypatch.setenv("REDIS_URL", URL)
    monkeypatch.setattr(
        cli, "sync_client", lambda url, cluster=False: fakeredis.FakeRedis(server=server)
    )
    client = fakeredis.FakeRedis(server=server)
    yield client
    client.close()


def _park(client: fakeredis.FakeRedis, stream: str, payload: str) -> str:
    letter = DeadLetter(
        stream=stream, group="dedupe", message_id="1-0", payload=payload, error="boom",
        deliveries=5, failed_at=datetime(2026, 12, 5, tzinfo=UTC),
    )  # fmt: skip
    entry_id = client.xadd(Settings().stream_dead, encode(letter))
    return entry_id.decode()


def test_dead_retry_without_ids_or_all_is_a_usage_error(redis: fakeredis.FakeRedis) -> None:
    result = CliRunner().invoke(cli.main, ["dead", "retry"])
    assert result.exit_code == 2
    assert "name dead letter ids, or --all" in result.output


def test_dead_retry_of_an_unknown_id_names_it_and_moves_nothing(
    redis: fakeredis.FakeRedis,
) -> None:
    parked = _park(redis, "articles:raw", '{"id": "A"}')
    result = CliRunner().invoke(cli.main, ["dead", "retry", parked, "9-9"])
    assert result.exit_code == 1
    assert "no dead letter with id 9-9" in result.output
    assert redis.xlen(Settings().stream_dead) == 1
    assert redis.xlen("articles:raw") == 0


def test_dead_retry_all_puts_each_letter_back_on_its_stream(redis: fakeredis.FakeRedis) -> None:
    first = _park(redis, "articles:raw", '{"id": "A"}')
    second = _park(redis, "articles:canonical", '{"id": "B"}')
    result = CliRunner().invoke(cli.main, ["dead", "retry", "--all"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"re-queued {first} on articles:raw",
        f"re-queued {second} on articles:canonical",
    ]
    assert redis.xlen(Settings().stream_dead) == 0
    assert [f[b"__data__"] for _, f in redis.xrange("articles:raw")] == [b'{"id": "A"}']


def test_tail_with_a_count_from_the_start_prints_what_there_is_and_exits(
    redis: fakeredis.FakeRedis,
) -> None:
    for n in range(2):
        redis.xadd(Settings().stream_canonical, {"__data__": f'{{"n": {n}}}'.encode()})
    result = CliRunner().invoke(cli.main, ["tail", "canonical", "--from-start", "--count", "10"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ['{"n": 0}', '{"n": 1}']


def test_tail_refuses_a_stream_it_does_not_know(redis: fakeredis.FakeRedis) -> None:
    result = CliRunner().invoke(cli.main, ["tail", "raw"])
    assert result.exit_code == 2
    assert "canonical" in result.output and "duplicates" in result.output
