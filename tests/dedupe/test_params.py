"""The deployment's parameters: recorded by the first dedupe process, required of all later."""

import pytest
import redis.asyncio as aioredis

from services.dedupe.judge.config import JudgeConfig
from services.dedupe.service.params import IndexMismatch, claim_params, index_params
from shared.settings import Settings
from shared.streams import keys_for


async def _claim(redis: aioredis.Redis, settings: Settings) -> None:
    await claim_params(redis, keys_for(settings), index_params(JudgeConfig.from_settings(settings)))


async def test_a_process_with_the_recorded_parameters_runs(
    redis: aioredis.Redis, settings: Settings
) -> None:
    await _claim(redis, settings)
    await _claim(redis, settings)


@pytest.mark.parametrize(
    "change",
    [{"pair_threshold": 0.7}, {"pair_containment_threshold": 0.9}, {"pair_min_words": 40},
     {"threshold": 0.6}],
)  # fmt: skip
async def test_a_process_measuring_otherwise_is_refused_naming_the_setting(
    redis: aioredis.Redis, settings: Settings, change: dict[str, float]
) -> None:
    await _claim(redis, settings)
    other = settings.model_copy(update=change)
    with pytest.raises(IndexMismatch, match=next(iter(change))):
        await _claim(redis, other)


async def test_a_process_whose_state_is_laid_out_otherwise_is_refused(
    redis: aioredis.Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _claim(redis, settings)
    monkeypatch.setattr("services.dedupe.service.params.STATE_FORMAT", "another")
    with pytest.raises(IndexMismatch, match="state_format"):
        await _claim(redis, settings)
