"""The Redis plumbing on a real cluster: clients, scripts, queue, partitions, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from faststream.redis import RedisClusterBroker
from prometheus_client import REGISTRY

from services.ingest.queue import RawQueue
from shared.broker import make_broker
from shared.lua import Lua
from shared.metrics import read_redis_size
from shared.redis import async_client, get_many
from shared.replication import Replication
from shared.settings import Settings
from tests.conftest import isolated_settings
from tests.factories import raw_article


@pytest.fixture
async def client(cluster_url: str) -> AsyncIterator[aioredis.Redis]:
    redis = async_client(cluster_url)
    yield redis
    await redis.aclose()


@pytest.fixture
def settings(cluster_url: str, tmp_path: Path) -> Settings:
    return isolated_settings(cluster_url, tmp_path, partitions=4)


def test_a_cluster_url_gets_faststreams_cluster_broker(cluster_url: str) -> None:
    assert isinstance(make_broker(cluster_url), RedisClusterBroker)


async def test_many_keys_across_slots_are_read_in_their_order(client: aioredis.Redis) -> None:
    keys = [f"t-many:{n}" for n in range(20)]  # spread over the three masters
    for n, key in enumerate(keys):
        await client.set(key, n, ex=60)
    assert [int(v) for v in await get_many(client, keys)] == list(range(20))


async def test_a_script_queued_in_a_cluster_pipeline_runs_with_the_rest(
    client: aioredis.Redis,
) -> None:
    echo = Lua(client, "return redis.call('INCRBY', KEYS[1], ARGV[1])")
    async with client.pipeline(transaction=False) as pipe:
        pipe.set("t-lua:{a}", 1, ex=60)
        await echo(keys=["t-lua:{a}"], args=[41], client=pipe)
        pipe.get("t-lua:{a}")
        assert await pipe.execute() == [True, 42, b"42"]


async def test_a_retried_post_finds_its_answer_in_its_partitions_slot(
    client: aioredis.Redis, settings: Settings
) -> None:
    queue = RawQueue(client, settings)
    article = raw_article("Ein Text.")
    assert await queue.enqueue([article], "first answer", "one:key") is None
    assert await queue.enqueue([raw_article("Anders.")], "second", "one:key") == "first answer"
    lengths = [await client.xlen(stream) for stream in settings.raw_streams]
    assert sorted(lengths) == [0, 0, 0, 1]


async def test_requests_without_a_key_go_to_the_partitions_in_turn(
    client: aioredis.Redis, settings: Settings
) -> None:
    queue = RawQueue(client, settings)
    for n in range(8):
        await queue.enqueue([raw_article(f"Text {n}.")], "ok", None)
    assert [await client.xlen(s) for s in settings.raw_streams] == [2, 2, 2, 2]


async def test_a_write_waits_for_a_replica_on_each_master_it_touched(
    client: aioredis.Redis,
) -> None:
    async with client.pipeline(transaction=False) as pipe:
        keys = [f"t-wait:{n}" for n in range(12)]
        for key in keys:
            pipe.set(key, 1, ex=60)
        waits = Replication(replicas=1, timeout_ms=50).queue_wait(client, pipe, keys)  # type: ignore[arg-type]
        replies = await pipe.execute()
    assert waits == 3  # one WAIT per master
    assert replies[len(keys) :] == [0, 0, 0]  # this cluster has no replicas: none confirmed


async def test_the_redis_size_counts_the_keys_of_every_master(client: aioredis.Redis) -> None:
    before = await client.dbsize(target_nodes="primaries")  # type: ignore[call-arg]
    for n in range(30):
        await client.set(f"t-size:{n}", 1, ex=60)
    await read_redis_size(client)
    assert REGISTRY.get_sample_value("newsdedup_redis_keys") == before + 30
