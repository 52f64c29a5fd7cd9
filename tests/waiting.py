"""Waiting on a condition with a deadline, never on the clock alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(probe: Callable[[], T], done: Callable[[T], bool], timeout: float = 20.0) -> T:
    """Poll ``probe`` until ``done`` holds for its value; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        time.sleep(0.05)


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    timeout: float = 20.0,  # noqa: ASYNC109  (a deadline for polling, not for one await)
) -> T:
    """The async ``wait_until``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.05)
