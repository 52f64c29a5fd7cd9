"""Running the three services as child processes on this machine (``newsdedup up``, the demo).

Each service runs as its own process, exactly as compose runs it, so killing one (as the fault
tests do) behaves as in production. With no REDIS_URL an embedded real Redis is started first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from shared.embedded import EmbeddedRedis, free_port
from shared.settings import Settings, settings_env

SERVICES = ("store", "dedupe", "ingest")


class Stack:
    def __init__(
        self,
        settings: Settings,
        *,
        ingest_port: int | None = None,
        store_port: int | None = None,
        extra_env: dict[str, str] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.data_dir = Path(settings.data_dir)
        self.log_dir = log_dir or self.data_dir / "logs"
        self.ports = {
            "ingest": (settings.ingest_port if ingest_port is None else ingest_port) or free_port(),
            "store": (settings.store_port if store_port is None else store_port) or free_port(),
            "dedupe": free_port(),
        }
        self.extra_env = extra_env or {}
        self.redis: EmbeddedRedis | None = None
        self.redis_url = settings.redis_url
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self, service: str, name: str | None = None) -> dict[str, str]:
        assert self.redis_url is not None
        env = {**os.environ, **settings_env(self.settings), **self.extra_env}
        env["REDIS_URL"] = self.redis_url
        env[f"NEWSDEDUP_{service.upper()}_PORT"] = str(self.ports[name or service])
        env["NEWSDEDUP_CONSUMER_NAME"] = f"{name or service}-{time.time_ns()}"
        return env

    def start_redis(self) -> None:
        if self.redis_url is None:
            self.redis = EmbeddedRedis(self.data_dir / "redis").start()
            self.redis_url = self.redis.url

    def start_service(self, service: str, timeout: float = 30.0, replica: int = 0) -> None:
        """Start ``service``; replicas 1, 2, ... run beside replica 0 as ``<service>-<n>``."""
        name = f"{service}-{replica}" if replica else service
        self.ports.setdefault(name, free_port())
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "serve", service],
            env=self.env(service, name),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.wait_healthy(name, timeout)

    def wait_healthy(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        process = self.processes[name]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {process.returncode}; see {self.log_dir / name}.log"
                )
            try:
                if httpx.get(self.url(name) + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{name} not healthy after {timeout}s")

    def kill(self, service: str) -> None:
        """SIGKILL: no shutdown hooks run, pending entries stay with the dead consumer."""
        process = self.processes.pop(service)
        process.kill()
        process.wait()

    def terminate(self, service: str, timeout: float = 30.0) -> int:
        """SIGTERM, as compose stops a container: the service shuts down gracefully."""
        process = self.processes.pop(service)
        process.terminate()
        return process.wait(timeout=timeout)

    def log_tails(self, lines: int = 40) -> str:
        """The end of each service's log: all a failed run leaves to go on once its temporary
        directory is gone."""
        parts = []
        for log in sorted(self.log_dir.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.name}, last {len(tail)} lines\n" + "\n".join(tail))
        return "\n".join(parts)

    def start(self) -> Stack:
        self.start_redis()
        for service in SERVICES:
            self.start_service(service)
        return self

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        if self.redis is not None:
            self.redis.stop()

    def __enter__(self) -> Stack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            print(self.log_tails(), file=sys.stderr)
        self.stop()
