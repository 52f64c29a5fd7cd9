"""The shared dedupe index in Redis: what every replica reads before deciding and writes after.

Keys (all under the configured prefix, all expiring after the index horizon so memory stays
bounded on an endless stream):
- ``exact:<content hash>`` and ``url:<url hash>`` → the canonical article id that owns them;
- ``lsh:<band>:<bucket>`` → set of canonical article ids whose signature falls in that bucket;
- ``sig:<id>`` → the canonical article's signature (uint32 little-endian);
- ``verdict:<id>`` → the decision already taken on an article, so a redelivery repeats it;
- ``index:params`` → the signature parameters the index was built with.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from services.dedupe.decide import Candidate, Decision
from services.dedupe.features import Features
from services.dedupe.signature import SCHEME, Signer, from_bytes, to_bytes
from shared.redis import as_bytes, as_text
from shared.streams import Keys


class IndexMismatch(RuntimeError):
    """The shared index was built with other signature parameters than this process uses."""


@dataclass(frozen=True)
class Evidence:
    exact_owner: str | None
    url_owner: str | None
    candidates: list[Candidate]


class RedisIndex:
    def __init__(self, redis: aioredis.Redis, keys: Keys, signer: Signer, horizon_s: int) -> None:
        self.redis = redis
        self.keys = keys
        self.signer = signer
        self.horizon_s = horizon_s

    def params(self) -> dict[str, str]:
        p = self.signer.params
        return {
            "num_perm": str(p.num_perm),
            "seed": str(p.seed),
            "shingle_size": str(p.shingle_size),
            "threshold": str(p.threshold),
            "bands": str(self.signer.bands),
            "rows": str(self.signer.rows),
            "scheme": SCHEME,
        }

    async def claim_params(self) -> None:
        """Record this process's parameters, or refuse to run against an index built otherwise."""
        key = self.keys.index_params()
        mine = self.params()
        for field, value in mine.items():
            await self.redis.hsetnx(key, field, value)
        stored = {as_text(k): as_text(v) for k, v in (await self.redis.hgetall(key)).items()}
        differing = {f: (stored.get(f), v) for f, v in mine.items() if stored.get(f) != v}
        if differing:
            detail = ", ".join(
                f"{f}: index has {s}, this process {m}" for f, (s, m) in differing.items()
            )
            raise IndexMismatch(
                f"the index under '{self.keys.prefix}:' was built with other parameters "
                f"({detail}); use the same NEWSDEDUP_* settings, or another "
                "NEWSDEDUP_KEY_PREFIX for a new index"
            )

    async def recorded(self, article_id: str) -> Decision | None:
        raw = await self.redis.get(self.keys.verdict(article_id))
        return Decision(**json.loads(raw)) if raw else None

    async def evidence(self, features: Features) -> Evidence:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(self.keys.exact(features.content_hash))
            pipe.get(self.keys.url(features.url_hash) if features.url_hash else self.keys.url("-"))
            for band, bucket in enumerate(features.buckets):
                pipe.smembers(self.keys.band(band, bucket))
            replies = await pipe.execute()
        exact_owner, url_owner, *members = replies
        ids = sorted({as_text(m) for group in members for m in group})
        candidates: list[Candidate] = []
        if ids:
            signatures = await self.redis.mget([self.keys.signature(i) for i in ids])
            candidates = [
                Candidate(i, from_bytes(as_bytes(s)))
                for i, s in zip(ids, signatures, strict=True)
                if s
            ]
        return Evidence(
            as_text(exact_owner) if exact_owner else None,
            as_text(url_owner) if url_owner and features.url_hash else None,
            candidates,
        )

    def record(
        self, pipe: Pipeline, article_id: str, features: Features, decision: Decision
    ) -> None:
        """Queue the index writes for a decision into a transaction the caller executes."""
        ttl = self.horizon_s
        pipe.set(self.keys.verdict(article_id), json.dumps(asdict(decision)), ex=ttl)
        pipe.set(self.keys.exact(features.content_hash), decision.canonical_id, nx=True, ex=ttl)
        if features.url_hash:
            pipe.set(self.keys.url(features.url_hash), decision.canonical_id, nx=True, ex=ttl)
        if decision.is_canonical:
            pipe.set(self.keys.signature(article_id), to_bytes(features.signature), ex=ttl)
            for band, bucket in enumerate(features.buckets):
                key = self.keys.band(band, bucket)
                pipe.sadd(key, article_id)
                pipe.expire(key, ttl)
