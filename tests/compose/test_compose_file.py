"""docker-compose.yml as compose reads it (`config`): no engine needed."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from shared.settings import Settings
from tests.conftest import ROOT

COMPOSE = shutil.which("docker-compose")
pytestmark = pytest.mark.skipif(COMPOSE is None, reason="docker-compose is not installed")


def _config(*overrides: str, **env: str) -> subprocess.CompletedProcess[str]:
    assert COMPOSE
    clean = {k: v for k, v in os.environ.items() if not k.startswith("POSTGRES_")}
    files = [arg for name in ("docker-compose.yml", *overrides) for arg in ("-f", str(ROOT / name))]
    return subprocess.run(
        [COMPOSE, *files, "config"],
        capture_output=True, text=True, env={**clean, **env}, cwd=ROOT / "tests", check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    result = _config(POSTGRES_PASSWORD="secret")
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = yaml.safe_load(result.stdout)
    return parsed


def test_compose_file_is_valid() -> None:
    assert _config(POSTGRES_PASSWORD="secret").returncode == 0


def test_compose_refuses_to_run_without_a_database_password() -> None:
    result = _config()
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_every_service_is_there_with_a_healthcheck(config: dict[str, Any]) -> None:
    services = config["services"]
    assert set(services) == {"redis", "postgres", "ingest", "dedupe", "store"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name


def test_services_wait_for_healthy_dependencies(config: dict[str, Any]) -> None:
    services = config["services"]
    for name in ("ingest", "dedupe", "store"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["store"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_redis_keeps_an_append_only_file_on_a_volume(config: dict[str, Any]) -> None:
    redis = config["services"]["redis"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert any(str(v).split(":")[1] == "/data" for v in redis["volumes"])  # "name:/data:rw"


def test_app_services_share_one_image_and_get_redis_from_env(config: dict[str, Any]) -> None:
    services = config["services"]
    for name in ("ingest", "dedupe", "store"):
        assert services[name]["image"] == "newsdedup:latest"
        assert services[name]["command"] == ["serve", name]
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert services["store"]["environment"]["DATABASE_URL"].startswith("postgresql://")


def test_dedupe_publishes_no_port_so_it_can_scale(config: dict[str, Any]) -> None:
    assert "ports" not in config["services"]["dedupe"]
    assert "container_name" not in config["services"]["dedupe"]


def _cluster_config() -> dict[str, Any]:
    result = _config("docker-compose.cluster.yml", POSTGRES_PASSWORD="secret")
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = yaml.safe_load(result.stdout)
    return parsed


def test_the_cluster_override_runs_three_masters_and_three_replicas() -> None:
    services = _cluster_config()["services"]
    nodes = [name for name in services if name.startswith("redis-") and name[6:].isdigit()]
    assert len(nodes) == 6
    for name in nodes:
        assert "--cluster-enabled" in services[name]["command"]
    assert "--cluster-replicas 1" in services["redis-cluster"]["command"][0]


def test_the_cluster_override_points_every_service_at_the_formed_cluster() -> None:
    services = _cluster_config()["services"]
    for name in ("ingest", "dedupe", "store"):
        environment = services[name]["environment"]
        assert environment["REDIS_URL"].startswith("redis+cluster://redis-1:6379,")
        assert environment["NEWSDEDUP_PARTITIONS"] == "4"
        assert services[name]["depends_on"]["redis-cluster"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["store"]["environment"]["DATABASE_URL"].startswith("postgresql://")


def test_a_database_password_with_at_colon_and_slash_still_reaches_the_database() -> None:
    password = "p@ss:w/rd#1"
    result = _config(POSTGRES_PASSWORD=password)
    assert result.returncode == 0, result.stderr
    environment = yaml.safe_load(result.stdout)["services"]["store"]["environment"]
    settings = Settings(_env_file=None, **{  # as the store reads its environment
        "database_url": environment["DATABASE_URL"],
        "database_password": environment["NEWSDEDUP_DATABASE_PASSWORD"],
    })  # fmt: skip
    url = make_url(settings.effective_database_url)
    assert (url.password, url.host, url.port, url.database) == (
        password, "postgres", 5432, "newsdedup",
    )  # fmt: skip
