"""The README's compose commands, which the compose tests run as written."""

from __future__ import annotations

import re

from tests.conftest import ROOT

COPY_ENV = "cp .env.example .env"
UP = "docker compose up -d --build --scale dedupe=3"
PS = "docker compose ps"
TAIL = "docker compose exec -T ingest newsdedup tail canonical --from-start --count 5"
DEAD = "docker compose exec -T ingest newsdedup dead list"
STOP = "docker compose stop"
DOWN = "docker compose down -v"
ON_CLUSTER = "docker compose -f docker-compose.yml -f docker-compose.cluster.yml"
CLUSTER_UP = f"{ON_CLUSTER} up -d --build --scale dedupe=3"
CLUSTER_DOWN = f"{ON_CLUSTER} down -v"

IN_ORDER = [COPY_ENV, UP, PS, TAIL, DEAD, STOP, UP, DOWN, CLUSTER_UP, CLUSTER_DOWN]


def compose_commands() -> list[str]:
    """The command lines of the README's "Docker Compose" section, comments dropped."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Docker Compose") : readme.index("## Scaling out")]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    lines = (line.split("  #")[0].strip() for block in blocks for line in block.splitlines())
    return [line for line in lines if line]
