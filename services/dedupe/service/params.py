"""The parameters verdicts depend on, recorded once per deployment: a dedupe process started
with others refuses to run, as two judges would judge the same stream differently, and a
restored state would not match."""

from __future__ import annotations

import redis.asyncio as aioredis

from services.dedupe.judge.config import JudgeConfig
from services.dedupe.service.journal import STATE_FORMAT
from services.dedupe.text.shingles import SHINGLE_HASH
from services.dedupe.text.signature import SCHEME
from shared.redis import as_text
from shared.streams import Keys


class IndexMismatch(RuntimeError):
    """The deployment's state was built with other parameters than this process uses."""


def index_params(config: JudgeConfig) -> dict[str, str]:
    return {
        **config.recorded(),
        "scheme": f"{SCHEME}/{SHINGLE_HASH}",
        "state_format": STATE_FORMAT,
    }


async def claim_params(redis: aioredis.Redis, keys: Keys, mine: dict[str, str]) -> None:
    """Record this process's parameters, or refuse to run beside state built otherwise."""
    key = keys.index_params()
    for field, value in mine.items():
        await redis.hsetnx(key, field, value)
    stored = {as_text(k): as_text(v) for k, v in (await redis.hgetall(key)).items()}
    differing = {f: (stored.get(f), v) for f, v in mine.items() if stored.get(f) != v}
    if differing:
        detail = ", ".join(
            f"{f}: index has {s}, this process {m}" for f, (s, m) in differing.items()
        )
        raise IndexMismatch(
            f"the index under '{keys.prefix}:' was built with other parameters ({detail}); use "
            "the same NEWSDEDUP_* settings, or another NEWSDEDUP_KEY_PREFIX for a new index"
        )
