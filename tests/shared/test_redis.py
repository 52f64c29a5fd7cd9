"""The connection that packs commands with hiredis sends what redis-py's own packer sends."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from shared.redis import ClusterAddress, EmbeddedRedis, Lua, PackingConnection, async_client
from shared.streams import slot_tag

ARGS = [
    ("SET", "key", "välue", 1, 2.5),
    ("CONFIG GET", "maxmemory"),
    (b"CLIENT LIST",),
    ("EVALSHA", "a" * 40, 2, "k1", "k2", b"\x00\xff", memoryview(b"mv"), bytearray(b"ba")),
]


@pytest.mark.parametrize("args", ARGS)
def test_a_command_is_packed_as_redis_py_packs_it(args: tuple[object, ...]) -> None:
    ours = b"".join(PackingConnection().pack_command(*args))  # type: ignore[arg-type]
    theirs = b"".join(bytes(c) for c in aioredis.Connection().pack_command(*args))  # type: ignore[arg-type]
    assert ours == theirs


def test_an_argument_redis_cannot_take_is_a_data_error() -> None:
    with pytest.raises(redis.DataError):
        PackingConnection().pack_command("SET", "key", None)  # type: ignore[arg-type]


async def test_a_pooled_client_round_trips_a_long_script_call(redis_url: str) -> None:
    client = async_client(redis_url)
    try:
        keys = [f"test:packing:{n}" for n in range(150)]
        script = client.register_script("return #KEYS + #ARGV")
        assert await script(keys=keys, args=list(range(150))) == 300
    finally:
        await client.aclose()


async def _script_commands(client: aioredis.Redis) -> int:
    """SCRIPT calls the server has run (Redis 7 counts them per subcommand)."""
    stats: Any = await client.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k.startswith("cmdstat_script"))


async def test_a_script_queued_in_a_pipeline_runs_without_asking_whether_the_server_has_it(
    redis_url: str,
) -> None:
    client = async_client(redis_url)
    try:
        script = Lua(client, f"-- {uuid.uuid4()}\nreturn #KEYS + #ARGV")  # new to the server
        before = await _script_commands(client)
        async with client.pipeline(transaction=True) as pipe:
            await script(keys=["test:lua:k"], args=[1, 2], client=pipe)
            assert await pipe.execute() == [3]
        assert await _script_commands(client) == before
    finally:
        await client.aclose()


def test_a_cluster_url_names_its_nodes_and_credentials() -> None:
    address = ClusterAddress.parse("redis+cluster://app:p%40ss@10.0.0.1:7000,10.0.0.2,h:7002/0")
    assert address.nodes == [("10.0.0.1", 7000), ("10.0.0.2", 6379), ("h", 7002)]
    assert (address.username, address.password) == ("app", "p@ss")


def test_a_cluster_url_without_credentials_has_none() -> None:
    address = ClusterAddress.parse("redis+cluster://h:7000")
    assert (address.nodes, address.username, address.password) == ([("h", 7000)], None, None)


@pytest.mark.parametrize(
    ("key", "tag"),
    [("articles:raw:{3}", "3"), ("articles:raw", "articles:raw"), ("a:{}:b", "a:{}:b"),
     ("nd:e:{01ABC}", "01ABC")],
)  # fmt: skip
def test_a_key_hashes_by_its_tag_or_else_whole(key: str, tag: str) -> None:
    assert slot_tag(key) == tag


def test_an_embedded_redis_restarted_on_the_same_data_dir_keeps_its_address(
    tmp_path: Path,
) -> None:
    first = EmbeddedRedis(tmp_path / "redis", appendonly=False).start()
    first.stop()
    again = EmbeddedRedis(tmp_path / "redis", appendonly=False).start()
    try:
        assert again.url == first.url
        assert redis.Redis.from_url(again.url).ping()
    finally:
        again.stop()


def test_an_embedded_redis_whose_last_port_is_taken_takes_another(tmp_path: Path) -> None:
    first = EmbeddedRedis(tmp_path / "redis", appendonly=False).start()
    try:  # still running: its port is taken
        other = EmbeddedRedis(tmp_path / "redis", appendonly=False)
        assert other.port != first.port
    finally:
        first.stop()
