"""What a plain `pip install .` ships: the wheel, built here without the network."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT, SEEDS


def test_the_wheel_carries_the_demos_sample_articles(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         str(ROOT), "--wheel-dir", str(tmp_path)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    [wheel] = tmp_path.glob("newsdedup-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(n for n in names if n.startswith("services/seeds/")) == [
        f"services/seeds/{seed.name}" for seed in SEEDS
    ]
    assert len(SEEDS) == 5
