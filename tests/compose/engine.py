"""A Docker engine for the compose test: the one that answers, or one of the test's own.

The engine of the test's own is Debian's dockerd, run as root with its data and sockets under a
temporary directory and stopped at the end. It creates no default bridge and touches no
iptables rule: the stack's containers talk over compose's own network, and the host reaches the
published ports on loopback. With no default bridge, image builds use the host's network.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


class NoEngine(Exception):
    """No Docker engine answers and none can be started here; the message says why."""


@dataclass(frozen=True)
class Engine:
    """Where the Docker client finds the engine, and how its builds reach the network."""

    env: dict[str, str] = field(default_factory=dict)  # DOCKER_HOST, when the engine is ours
    build_network: str = "default"

    def environ(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def docker(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        """Run ``docker ARGS`` against this engine; its output, or an error with its stderr."""
        result = subprocess.run(
            ["docker", *args], env=self.environ(), capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def answers(self) -> bool:
        try:
            self.docker("info", "--format", "{{.ServerVersion}}", timeout=20)
        except (RuntimeError, subprocess.TimeoutExpired):
            return False
        return True

    def compose_command(self) -> list[str]:
        """``docker compose`` where the client has the plugin, else Debian's ``docker-compose``:
        both take the commands the README shows."""
        plugin = subprocess.run(
            ["docker", "compose", "version"], env=self.environ(), capture_output=True,
            check=False,
        )  # fmt: skip
        if plugin.returncode == 0:
            return ["docker", "compose"]
        if shutil.which("docker-compose"):
            return ["docker-compose"]
        raise NoEngine("neither `docker compose` nor `docker-compose` is installed")


# dockerd's storage drivers, fastest first: vfs copies every layer whole, but runs anywhere.
STORAGE_DRIVERS: Sequence[str] = ("overlay2", "vfs")


@contextmanager
def docker_engine(workdir: Path) -> Iterator[Engine]:
    """The engine that answers; else a dockerd of our own, stopped and removed at the end."""
    if shutil.which("docker") is None:
        raise NoEngine("the docker client is not installed")
    existing = Engine()
    if existing.answers():
        # An engine with no default bridge (as ours) builds on the host's network.
        bridged = "bridge" in existing.docker("network", "ls", "--format", "{{.Name}}").split()
        yield existing if bridged else Engine(build_network="host")
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise NoEngine("no Docker engine answers and dockerd is not installed")
    if os.geteuid() != 0:
        raise NoEngine("no Docker engine answers and starting dockerd needs root")
    for driver in STORAGE_DRIVERS:
        with _own_dockerd(dockerd, workdir / driver, driver) as engine:
            if engine is not None:
                yield engine
                return
    raise NoEngine(f"dockerd did not start with any of {STORAGE_DRIVERS}; see {workdir}")


@contextmanager
def _own_dockerd(dockerd: str, root: Path, driver: str) -> Iterator[Engine | None]:
    """dockerd with the given storage driver, or None when it does not come up."""
    root.mkdir(parents=True)
    socket = root / "docker.sock"
    engine = Engine(env={"DOCKER_HOST": f"unix://{socket}"}, build_network="host")
    log = (root / "dockerd.log").open("wb")
    process = subprocess.Popen(
        [dockerd, f"--storage-driver={driver}", "--iptables=false", "--ip6tables=false",
         "--bridge=none", f"--data-root={root / 'data'}", f"--exec-root={root / 'exec'}",
         f"--pidfile={root / 'dockerd.pid'}", "-H", f"unix://{socket}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and not engine.answers():
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        yield engine if process.poll() is None and engine.answers() else None
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        _unmount_under(root)  # what dockerd leaves mounted (its network namespace)
        shutil.rmtree(root / "data", ignore_errors=True)
        shutil.rmtree(root / "exec", ignore_errors=True)


def _unmount_under(root: Path) -> None:
    with open("/proc/mounts", encoding="utf-8") as mounts:
        points = [line.split()[1] for line in mounts]
    for point in sorted(points, reverse=True):
        if point.startswith(f"{root}/"):
            subprocess.run(["umount", "--lazy", point], check=False)
