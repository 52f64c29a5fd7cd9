"""The Redis clients, the scripts' calls and the embedded server."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from shared.embedded import EmbeddedRedis
from shared.lua import Lua
from shared.redis import ClusterAddress, async_client
from shared.streams import slot_tag


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
    assert address.first_node_url == "redis://h:7000"


def test_the_first_node_of_a_cluster_url_keeps_its_credentials() -> None:
    address = ClusterAddress.parse("redis+cluster://app:p%40ss@10.0.0.1:7000,10.0.0.2")
    assert address.first_node_url == "redis://app:p%40ss@10.0.0.1:7000"
    assert ClusterAddress.parse("redis+cluster://:secret@h:7000").first_node_url == (
        "redis://:secret@h:7000"
    )


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
