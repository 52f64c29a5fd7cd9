"""Posting article files to the ingest API in batches, with a progress bar."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

SUFFIXES = (".txt", ".html", ".htm", ".json", ".jsonl")
BATCH = 100


@dataclass
class Summary:
    accepted: int = 0
    rejected: int = 0
    ids: list[str] = field(default_factory=list)
    first_error: str | None = None


def files_under(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES))
        else:
            found.append(path)
    return found


def articles_in(path: Path, source: str | None) -> Iterator[dict[str, Any]]:
    """One request body per article the file holds."""
    content = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    extra = {"source": source} if source else {}
    if suffix == ".txt":
        yield {"text": content, **extra}
    elif suffix in (".html", ".htm"):
        yield {"html": content, **extra}
    elif suffix == ".json":
        data = json.loads(content)
        for item in data if isinstance(data, list) else [data]:
            yield {**extra, **item}
    elif suffix == ".jsonl":
        for line in content.splitlines():
            if line.strip():
                yield {**extra, **json.loads(line)}
    else:
        raise ValueError(f"{path}: unsupported file type {suffix!r}")


class RateColumn(ProgressColumn):
    """Articles per second, as measured by the progress bar over its recent updates."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:,.0f} articles/s")


def _post(client: httpx.Client, path: str, body: Any) -> httpx.Response:
    """POST, waiting and retrying while the API says it is overloaded (503/429)."""
    delay = 0.5
    for _ in range(8):
        response = client.post(path, json=body)
        if response.status_code not in (429, 503):
            return response
        time.sleep(float(response.headers.get("Retry-After", delay)))
        delay = min(delay * 2, 10)
    return response


def _reject(summary: Summary, error: str) -> None:
    summary.rejected += 1
    summary.first_error = summary.first_error or error


def post_files(paths: list[Path], base_url: str, *, source: str | None = None) -> Summary:
    summary = Summary()
    bodies: list[dict[str, Any]] = []
    for path in files_under(paths):
        try:
            bodies.extend(articles_in(path, source))
        except (ValueError, UnicodeDecodeError) as exc:
            _reject(summary, f"{path}: {exc}")
    columns = (
        TextColumn("posting"), BarColumn(), MofNCompleteColumn(), RateColumn(),
        TimeRemainingColumn(),
    )  # fmt: skip
    with httpx.Client(base_url=base_url, timeout=60) as client, Progress(*columns) as progress:
        task = progress.add_task("post", total=len(bodies))
        for start in range(0, len(bodies), BATCH):
            chunk = bodies[start : start + BATCH]
            response = _post(client, "/articles/batch", chunk)
            if response.status_code == 202:
                summary.ids.extend(response.json()["ids"])
                summary.accepted += len(chunk)
            else:
                # Find the bad items one by one so the good ones still get in.
                for body in chunk:
                    single = _post(client, "/articles", body)
                    if single.status_code == 202:
                        summary.ids.append(single.json()["id"])
                        summary.accepted += 1
                    else:
                        _reject(summary, f"HTTP {single.status_code}: {single.text[:200]}")
            progress.advance(task, len(chunk))
    return summary
