"""Snapshots on a real Redis, written by the fold process's forked copy while the judge goes on:
the journal is trimmed to the last one written, its parts are kept and nothing half-written
lingers, and a new judge restored from snapshot and journal judges as the old one would have."""

from __future__ import annotations

import asyncio
import random

import redis.asyncio as aioredis

from services.dedupe.service.fold_process import FoldProcess
from services.dedupe.service.runner import JudgeRunner
from shared.groups import declare_groups
from shared.models import Verdict
from shared.redis import as_text
from shared.settings import Settings
from shared.streams import decode, encode, keys_for, stream_id
from tests.factories import raw_article
from tests.waiting import eventually

FIRST, MORE = 600, 60


def texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(f"wort{rng.randrange(50_000)}" for _ in range(80)) for _ in range(count)]


async def verdicts(redis: aioredis.Redis, settings: Settings) -> list[Verdict]:
    found = []
    for stream in (settings.stream_canonical, settings.stream_duplicates):
        found += [decode(Verdict, fields) for _, fields in await redis.xrange(stream)]
    return found


async def judge_until(redis: aioredis.Redis, settings: Settings, count: int) -> list[Verdict]:
    """A judge of its own (a new fold process) judges until ``count`` verdicts are out."""
    fold = FoldProcess(settings)
    runner = JudgeRunner.on(redis, settings, fold)
    running = asyncio.create_task(runner.run())
    try:
        return await eventually(lambda: verdicts(redis, settings), lambda v: len(v) >= count,
                                timeout=120)  # fmt: skip
    finally:
        await runner.stop()
        await running
        await fold.close()


async def test_a_judge_restored_from_its_snapshot_and_journal_judges_as_the_old_one_would(
    redis: aioredis.Redis, settings: Settings
) -> None:
    settings = settings.model_copy(update={"judge_snapshot_every": 100, "batch_size": 20,
                                           "judge_replay_seconds": 0.01})  # fmt: skip
    keys = keys_for(settings)
    await declare_groups(redis, settings, [settings.stream_raw, settings.stream_canonical,
                                           settings.stream_duplicates])  # fmt: skip
    originals = [raw_article(t) for t in texts(FIRST, seed=1)]
    for article in originals:
        await redis.xadd(settings.stream_raw, encode(article))
    await judge_until(redis, settings, FIRST)

    meta = {as_text(k): as_text(v) for k, v in (await redis.hgetall(keys.snapshot())).items()}
    assert int(meta["parts"]) >= 1
    parts = [keys.snapshot_part(meta["name"], n) for n in range(int(meta["parts"]))]
    assert [await redis.pttl(part) for part in parts] == [-1] * len(parts)  # kept for good
    journal = await redis.xrange(keys.journal())
    assert len(journal) < FIRST // settings.batch_size  # trimmed below the snapshot
    # Only the snapshot's own last entry and what came after it (a restore reads after it).
    assert min(stream_id(as_text(entry)) for entry, _ in journal) == stream_id(meta["journal"])

    copies = [raw_article(a.text) for a in originals[-MORE:]]
    for copy in copies:
        await redis.xadd(settings.stream_raw, encode(copy))
    judged = {v.id: v for v in await judge_until(redis, settings, FIRST + MORE)}
    assert len(judged) == FIRST + MORE  # each article once
    assert {judged[c.id].canonical_id for c in copies} == {a.id for a in originals[-MORE:]}
    assert {judged[c.id].reason for c in copies} == {"exact"}
    assert {judged[a.id].status for a in originals} == {"canonical"}
