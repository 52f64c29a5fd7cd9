"""The base images the compose file names, or stand-ins built from Debian's packages.

The compose file takes its base images from PYTHON_IMAGE, REDIS_IMAGE and POSTGRES_IMAGE, whose
defaults are the official images. Where an official image is neither on the engine nor can be
pulled (no registry answers), its stand-in is built: Debian bookworm from mmdebstrap, imported
once, with the host's certificate bundle, then a small image per role from ``standins/``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.compose.engine import Engine, NoEngine

HERE = Path(__file__).resolve().parent / "standins"
OFFICIAL = {
    "PYTHON_IMAGE": "python:3.11-slim",
    "REDIS_IMAGE": "redis:7-alpine",
    "POSTGRES_IMAGE": "postgres:16-alpine",
}
STANDIN = {
    "PYTHON_IMAGE": "newsdedup-standin/python",
    "REDIS_IMAGE": "newsdedup-standin/redis",
    "POSTGRES_IMAGE": "newsdedup-standin/postgres",
}
ROOTFS = "newsdedup-standin/rootfs:bookworm"
BASE = "newsdedup-standin/base:bookworm"
PACKAGES = "python3,python3-venv,ca-certificates,redis-server,postgresql"
MIRROR = "http://deb.debian.org/debian"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def base_images(engine: Engine, workdir: Path) -> dict[str, str]:
    """The compose variables naming each base image: official where the engine has or can pull
    it, else a stand-in (built if missing)."""
    images = {}
    for variable, official in OFFICIAL.items():
        if _present(engine, official) or _pulled(engine, official):
            images[variable] = official
        else:
            if not _present(engine, STANDIN[variable]):
                _build_standin(engine, STANDIN[variable], workdir)
            images[variable] = STANDIN[variable]
    return images


def _present(engine: Engine, image: str) -> bool:
    return bool(engine.docker("images", "-q", image).strip())


def _pulled(engine: Engine, image: str) -> bool:
    try:
        engine.docker("pull", "-q", image, timeout=300)
    except (RuntimeError, subprocess.TimeoutExpired):
        return False
    return True


def _build_standin(engine: Engine, image: str, workdir: Path) -> None:
    context = workdir / "standins"
    if not context.exists():
        shutil.copytree(HERE, context)
        shutil.copy(CA_BUNDLE, context / "ca-certificates.crt")
    if not _present(engine, BASE):
        if not _present(engine, ROOTFS):
            _import_rootfs(engine, workdir / "rootfs.tar")
        _build(engine, context, "base", BASE, ROOTFS=ROOTFS)
    _build(engine, context, image.rsplit("/", 1)[1], image, BASE=BASE)


def _import_rootfs(engine: Engine, tarball: Path) -> None:
    mmdebstrap = shutil.which("mmdebstrap")
    if mmdebstrap is None:
        raise NoEngine("no registry answers and mmdebstrap (Debian) is not installed")
    subprocess.run(
        [mmdebstrap, "--quiet", "--variant=minbase", f"--include={PACKAGES}", "bookworm",
         str(tarball), MIRROR],
        check=True, timeout=900, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    engine.docker("import", str(tarball), ROOTFS)
    tarball.unlink()


def _build(engine: Engine, context: Path, role: str, tag: str, **args: str) -> None:
    build_args = [arg for name, value in args.items() for arg in ("--build-arg", f"{name}={value}")]
    engine.docker(
        "build", "-q", "--network", engine.build_network, "-f", str(context / f"Dockerfile.{role}"),
        *build_args, "-t", tag, str(context),
    )  # fmt: skip
