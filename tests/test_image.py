"""The Dockerfile read as text: what the image sets and the order of its layers."""

from __future__ import annotations

import shlex

from services.cli.stack import Stack
from shared.settings import Settings
from tests.conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def _instructions() -> list[tuple[str, str]]:
    """(instruction, arguments), continuation lines joined and comments dropped."""
    joined = DOCKERFILE.replace("\\\n", " ")
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def _image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, arguments in _instructions():
        if instruction == "ENV":
            env.update(word.split("=", 1) for word in shlex.split(arguments))
    return env


def test_in_the_image_every_service_of_up_listens_on_every_interface() -> None:
    settings = Settings(_env_file=None, **{k.lower().removeprefix("newsdedup_"): v
                                           for k, v in _image_env().items()
                                           if k.startswith("NEWSDEDUP_")})  # fmt: skip
    stack = Stack(settings, ingest_port=1, store_port=2)
    stack.redis_url = "redis://127.0.0.1:6379/0"
    for service in ("ingest", "store", "dedupe"):
        assert stack.env(service)[f"NEWSDEDUP_{service.upper()}_HOST"] == "0.0.0.0"


def test_the_dependencies_are_installed_before_the_code_is_copied() -> None:
    steps = _instructions()
    installs = [n for n, (op, args) in enumerate(steps) if op == "RUN" and "pip install" in args]
    code = [n for n, (op, args) in enumerate(steps) if op == "COPY" and "services" in args]
    assert len(installs) == 2 and len(code) == 1
    assert installs[0] < code[0] < installs[1]
    assert "requirements" in steps[installs[0]][1] and "--no-deps" in steps[installs[1]][1]
