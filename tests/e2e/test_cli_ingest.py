"""`newsdedup ingest` as a user runs it, against a real stack whose ingest API wants a key."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.cli.stack import Stack
from shared.embedded import free_port
from tests.conftest import ROOT, isolated_settings
from tests.waiting import wait_until

CLI = [sys.executable, "-m", "services.cli.main", "ingest"]
KEY = "k-cli-test"


@pytest.fixture(scope="module")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("cli-ingest") / "data"
    settings = isolated_settings(redis_url, data, ingest_port=0, store_port=0, api_keys=KEY)
    with Stack(settings) as running:
        yield running


def _ingest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "NEWSDEDUP_API_KEY"}
    return subprocess.run(
        [*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**environment, **(env or {})}, check=False,
    )  # fmt: skip


def _stored_texts(stack: Stack, source: str) -> list[str]:
    items: list[dict[str, Any]] = httpx.get(
        stack.url("store") + "/articles", params={"source": source, "limit": 100}, timeout=5
    ).json()["items"]
    return sorted(item["text"] for item in items)


def _feed(folder: Path) -> Path:
    """A good line, a truncated one, then three good lines."""
    folder.mkdir()
    lines = ['{"text": "Eins."}', '{"text": "Zw', '{"text": "Drei."}', "", '{"text": "Vier."}',
             '{"text": "Fünf."}']  # fmt: skip
    (folder / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_a_bad_line_is_named_by_file_and_line_and_the_rest_of_the_file_is_posted(
    stack: Stack, tmp_path: Path
) -> None:
    folder = _feed(tmp_path / "in")
    (folder / "broken.json").write_text('[{"text": "x"}', encoding="utf-8")
    (folder / "list.json").write_text('[{"text": "Sechs."}, {"title": "ohne Text"}, 7]')
    result = _ingest(str(folder), "--api", stack.url("ingest"), "--api-key", KEY,
                     "--source", "lines")  # fmt: skip
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "accepted 5, rejected 4"
    rejected = sorted(line for line in result.stderr.splitlines() if line.startswith("rejected "))
    assert [line.split(": ", 1)[0] for line in rejected] == [
        f"rejected {folder / 'broken.json'}",
        f"rejected {folder / 'feed.jsonl'}:2",
        f"rejected {folder / 'list.json'}[1]",
        f"rejected {folder / 'list.json'}[2]",
    ]
    assert "not JSON" in rejected[1] and "HTTP 422" in rejected[2] and "JSON object" in rejected[3]
    texts = wait_until(lambda: _stored_texts(stack, "lines"), lambda t: len(t) == 5)
    assert texts == ["Drei.", "Eins.", "Fünf.", "Sechs.", "Vier."]


def test_rejects_go_to_the_file_named_with_rejects(stack: Stack, tmp_path: Path) -> None:
    folder = _feed(tmp_path / "in")
    rejects = tmp_path / "rejects.txt"
    result = _ingest(str(folder), "--api", stack.url("ingest"), "--rejects", str(rejects),
                     "--source", "rejects", env={"NEWSDEDUP_API_KEY": KEY})  # fmt: skip
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "accepted 4, rejected 1"
    [line] = rejects.read_text(encoding="utf-8").splitlines()
    assert line.startswith(f"{folder / 'feed.jsonl'}:2: not JSON")


def test_the_key_comes_from_the_environment_and_all_accepted_exits_zero(
    stack: Stack, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("Ein Artikel mit Schlüssel.", encoding="utf-8")
    result = _ingest(str(tmp_path / "a.txt"), "--api", stack.url("ingest"), "--source", "env",
                     env={"NEWSDEDUP_API_KEY": KEY})  # fmt: skip
    assert (result.returncode, result.stdout.splitlines()[-1]) == (0, "accepted 1, rejected 0")


def test_without_the_key_one_line_says_what_to_do(stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Ohne Schlüssel.", encoding="utf-8")
    result = _ingest(str(tmp_path / "a.txt"), "--api", stack.url("ingest"))
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "refused the API key (HTTP 401" in line and "--api-key" in line


def test_with_nothing_listening_one_line_names_the_address(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Niemand hört zu.", encoding="utf-8")
    address = f"http://127.0.0.1:{free_port()}"
    result = _ingest(str(tmp_path / "a.txt"), "--api", address)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert f"cannot reach ingest at {address}" in line and "newsdedup up" in line
