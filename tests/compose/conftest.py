"""The engine and base images every compose test shares; without an engine they skip."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.compose.engine import Engine, NoEngine, docker_engine
from tests.compose.standins import base_images

CI = os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    try:
        with docker_engine(tmp_path_factory.mktemp("docker")) as found:
            yield found
    except NoEngine as why:
        if CI:
            pytest.fail(f"CI=true, so the compose tests must run, but {why}")
        pytest.skip(f"no Docker engine to run the stack on: {why}")


@pytest.fixture(scope="session")
def images(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """PYTHON_IMAGE, REDIS_IMAGE and POSTGRES_IMAGE: official, or stand-ins built here."""
    try:
        return base_images(engine, tmp_path_factory.mktemp("images"))
    except NoEngine as why:
        if CI:
            pytest.fail(f"CI=true, so the compose tests must run, but {why}")
        pytest.skip(f"no base images to build the stack on: {why}")
