"""The connection that packs commands with hiredis sends what redis-py's own packer sends."""

from __future__ import annotations

import pytest
import redis
import redis.asyncio as aioredis

from shared.redis import PackingConnection, async_client

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
