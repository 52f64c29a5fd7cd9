"""The verdicts of an undisturbed run, which every fault test's run must give again."""

from __future__ import annotations

import pytest

from tests.faults.load import BODIES, all_stored, fault_stack, post_all, shape, stored


@pytest.fixture(scope="session")
def reference(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, int]]:
    with fault_stack(redis_url, tmp_path_factory.mktemp("reference")) as stack:
        posted = post_all(stack, BODIES)
        all_stored(stack)
        return shape(posted.ids, stored(stack))
