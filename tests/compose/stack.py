"""The compose stack as a user runs it: a copy of the checkout, its .env, the README's commands.

Commands are run as the README writes them; ``docker compose`` becomes Debian's
``docker-compose`` where the client has no compose plugin. The project has a name of its own
(COMPOSE_PROJECT_NAME), so the test's containers, network and volumes never meet a user's.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shared.embedded import free_port
from tests.compose import readme
from tests.compose.engine import Engine
from tests.conftest import ROOT

IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", ".*_cache", ".newsdedup", ".env", "*.egg-info"
)


def set_env_file(path: Path, values: dict[str, str]) -> None:
    """Set keys in a .env file as a user edits it: a key's line is replaced, a new key appended."""
    lines = path.read_text(encoding="utf-8").splitlines()
    left = dict(values)
    edited = []
    for line in lines:
        key = line.split("=", 1)[0].strip()
        edited.append(f"{key}={left.pop(key)}" if key in left and "=" in line else line)
    edited.extend(f"{key}={value}" for key, value in left.items())
    path.write_text("\n".join(edited) + "\n", encoding="utf-8")


@dataclass
class ComposeStack:
    engine: Engine
    directory: Path
    project: str
    compose: list[str]
    ingest_url: str
    store_url: str
    ingest_key: str
    read_key: str

    def environ(self) -> dict[str, str]:
        return {**self.engine.environ(), "COMPOSE_PROJECT_NAME": self.project}

    def run(self, command: str, timeout: float = 900) -> str:
        """A command as the README writes it, run in the checkout; its output."""
        args = shlex.split(command, comments=True)
        if args[:2] == ["docker", "compose"]:
            args = [*self.compose, *args[2:]]
        result = subprocess.run(
            args, cwd=self.directory, env=self.environ(), capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
        return result.stdout

    def containers(self, service: str | None = None, every: bool = False) -> list[str]:
        labels = [f"label=com.docker.compose.project={self.project}"]
        if service:
            labels.append(f"label=com.docker.compose.service={service}")
        filters = [arg for label in labels for arg in ("--filter", label)]
        listed = self.engine.docker("ps", "-q", *(["-a"] if every else []), *filters)
        return listed.split()

    def inspect(self, container: str) -> dict[str, Any]:
        inspected: list[dict[str, Any]] = json.loads(self.engine.docker("inspect", container))
        return inspected[0]

    def health(self) -> dict[str, list[str]]:
        """Each service's containers' health ("healthy", "starting", ...) or state ("exited")."""
        states: dict[str, list[str]] = {}
        for container in self.containers(every=True):
            info = self.inspect(container)
            service = info["Config"]["Labels"]["com.docker.compose.service"]
            state = info["State"]
            health = state.get("Health", {}).get("Status") or state["Status"]
            states.setdefault(service, []).append(health)
        return {service: sorted(values) for service, values in sorted(states.items())}

    def redis_cli(self, *args: str) -> str:
        command = ["docker", "compose", "exec", "-T", "redis", "redis-cli", *args]
        return self.run(shlex.join(command))

    def post(self, bodies: Sequence[dict[str, Any]]) -> list[str]:
        """Post in batches as a client does: a batch not accepted (503, no answer) is sent again
        with its Idempotency-Key after a pause; only a 202 counts. The accepted ids, in order."""
        ids: list[str] = []
        for start in range(0, len(bodies), 100):
            chunk = list(bodies[start : start + 100])
            headers = {
                "Authorization": f"Bearer {self.ingest_key}",
                "Idempotency-Key": uuid.uuid4().hex,
            }
            deadline = time.monotonic() + 300
            while True:
                try:
                    response = httpx.post(
                        self.ingest_url + "/articles/batch", json=chunk, headers=headers, timeout=30
                    )
                except httpx.TransportError:
                    response = None
                if response is not None and response.status_code == 202:
                    ids.extend(response.json()["ids"])
                    break
                if response is not None:
                    assert response.status_code == 503, response.text
                assert time.monotonic() < deadline, "ingest accepted nothing for 300 s"
                time.sleep(0.5)  # a client's pause before it sends again
        return ids

    def read(self, path: str, **params: Any) -> Any:
        response = httpx.get(
            self.store_url + path, params=params, timeout=30,
            headers={"Authorization": f"Bearer {self.read_key}"},
        )  # fmt: skip
        response.raise_for_status()
        return response.json()

    def stored_count(self) -> int:
        try:
            return int(self.read("/stats")["articles"])
        except (httpx.TransportError, httpx.HTTPStatusError):
            return -1  # the store is restarting

    def stored(self) -> dict[str, dict[str, Any]]:
        """Every stored article by id; an id listed twice fails."""
        rows: dict[str, dict[str, Any]] = {}
        cursor = None
        while True:
            page = self.read("/articles", limit=500, **({"cursor": cursor} if cursor else {}))
            for item in page["items"]:
                assert item["id"] not in rows, f"{item['id']} stored twice"
                rows[item["id"]] = item
            cursor = page["next_cursor"]
            if not cursor:
                return rows


@dataclass
class Posting:
    """Bodies posted from a thread of their own, so the test can act on the stack meanwhile."""

    stack: ComposeStack
    bodies: Sequence[dict[str, Any]]
    ids: list[str] = field(default_factory=list)
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._post, daemon=True)
        self._thread.start()

    def _post(self) -> None:
        try:
            self.ids.extend(self.stack.post(self.bodies))
        except BaseException as error:  # handed to the test by join()
            self.error = error

    def join(self) -> list[str]:
        self._thread.join(timeout=900)
        assert not self._thread.is_alive(), "posting did not finish"
        if self.error:
            raise self.error
        return self.ids


@contextmanager
def user_stack(
    engine: Engine, images: dict[str, str], workdir: Path, down: str = readme.DOWN
) -> Iterator[ComposeStack]:
    """A copy of the checkout with its .env made as the README says; taken down at the end."""
    ingest_port, store_port = free_port(), free_port()
    stack = ComposeStack(
        engine=engine,
        directory=workdir / "newsdedup",
        project=f"newsdedup-test-{uuid.uuid4().hex[:8]}",
        compose=engine.compose_command(),
        ingest_url=f"http://127.0.0.1:{ingest_port}",
        store_url=f"http://127.0.0.1:{store_port}",
        ingest_key=uuid.uuid4().hex,
        read_key=uuid.uuid4().hex,
    )
    shutil.copytree(ROOT, stack.directory, ignore=IGNORED)
    stack.run(readme.COPY_ENV)
    set_env_file(stack.directory / ".env", {  # what the README asks a user to set
        "POSTGRES_PASSWORD": uuid.uuid4().hex,
        "NEWSDEDUP_API_KEYS": stack.ingest_key,
        "NEWSDEDUP_READ_API_KEYS": stack.read_key,
        "INGEST_PORT": f"127.0.0.1:{ingest_port}",  # published on loopback only
        "STORE_PORT": f"127.0.0.1:{store_port}",
        "BUILD_NETWORK": engine.build_network,
        **images,
    })  # fmt: skip
    try:
        yield stack
    finally:
        stack.run(down)
