"""CPU work in a batch takes turns with the other tasks of the event loop."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import REGISTRY

from services.dedupe.turns import in_turns


async def _interleaving(turn_s: float) -> list[str]:
    events: list[str] = []

    async def other() -> None:
        events.append("other")

    async def work() -> None:
        task = asyncio.ensure_future(other())  # ready to run at the loop's next turn
        async for item in in_turns(["a", "b", "c"], turn_s):
            events.append(item)
        await task

    await work()
    return events


async def test_a_spent_turn_lets_a_waiting_task_run_before_the_next_item() -> None:
    assert await _interleaving(turn_s=0.0) == ["a", "other", "b", "c"]


async def test_work_shorter_than_a_turn_runs_through_without_handing_over() -> None:
    assert await _interleaving(turn_s=60.0) == ["a", "b", "c", "other"]


def _text_work_seconds() -> float:
    return REGISTRY.get_sample_value("newsdedup_text_work_cpu_seconds_total") or 0.0


async def test_the_cpu_time_spent_on_each_item_counts_as_text_work() -> None:
    before = _text_work_seconds()
    async for _ in in_turns(range(3)):
        busy_until = time.thread_time() + 0.01
        while time.thread_time() < busy_until:
            pass
    assert _text_work_seconds() - before >= 0.03


async def test_time_spent_between_loops_does_not_count_as_text_work() -> None:
    before = _text_work_seconds()
    async for _ in in_turns(range(2)):
        pass
    busy_until = time.thread_time() + 0.05
    while time.thread_time() < busy_until:
        pass
    assert _text_work_seconds() - before < 0.01
