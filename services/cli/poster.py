"""Posting article files to the ingest API in batches, with a progress bar.

Every article is an item of its own, named by where it came from (``feed.jsonl:7`` for a line,
``list.json[3]`` for an array element): a bad one is rejected with that name and its reason, and
the rest of its file is still posted.
"""

from __future__ import annotations

import json
import time
import uuid
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


@dataclass(frozen=True)
class Item:
    """One article to post, or the reason there is none, with where it came from."""

    origin: str
    body: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class Summary:
    accepted: int = 0
    ids: list[str] = field(default_factory=list)
    rejects: list[str] = field(default_factory=list)  # "origin: reason", one per rejected item

    @property
    def rejected(self) -> int:
        return len(self.rejects)


class KeyRefused(Exception):
    """The ingest API refused the API key (or its absence): no article can get in."""


def files_under(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES))
        else:
            found.append(path)
    return found


def _object(origin: str, value: Any, extra: dict[str, Any]) -> Item:
    if not isinstance(value, dict):
        return Item(origin, error=f"an article must be a JSON object, not {type(value).__name__}")
    return Item(origin, {**extra, **value})


def items_in(path: Path, source: str | None) -> Iterator[Item]:
    """The file's articles, one item each."""
    extra = {"source": source} if source else {}
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        yield Item(str(path), error=f"unsupported file type {suffix!r}")
        return
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        yield Item(str(path), error=str(exc))
        return
    if suffix == ".txt":
        yield Item(str(path), {"text": content, **extra})
    elif suffix in (".html", ".htm"):
        yield Item(str(path), {"html": content, **extra})
    elif suffix == ".json":
        try:
            data = json.loads(content)
        except json.JSONDecodeError as exc:
            yield Item(str(path), error=f"not JSON: {exc}")
            return
        if isinstance(data, list):
            for n, value in enumerate(data):
                yield _object(f"{path}[{n}]", value, extra)
        else:
            yield _object(str(path), data, extra)
    else:
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Item(f"{path}:{number}", error=f"not JSON: {exc.msg} at column {exc.colno}")
                continue
            yield _object(f"{path}:{number}", value, extra)


class RateColumn(ProgressColumn):
    """Articles per second since posting began."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.0f} articles/s")


def _post(client: httpx.Client, path: str, body: Any) -> httpx.Response:
    """POST, waiting and retrying while the API says it is overloaded (503/429).

    Every try carries the request's one Idempotency-Key: a 503 can follow Redis taking the
    articles in (its answer lost), and then the retry gets the first answer instead of
    enqueueing the articles again.
    """
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    delay = 0.5
    for _ in range(8):
        response = client.post(path, json=body, headers=headers)
        if response.status_code in (401, 403):
            raise KeyRefused(f"HTTP {response.status_code}: {_reason(response)}")
        if response.status_code not in (429, 503):
            return response
        time.sleep(float(response.headers.get("Retry-After", delay)))
        delay = min(delay * 2, 10)
    return response


def _reason(response: httpx.Response) -> str:
    """The API's own words: each problem's field and message, on one line."""
    try:
        detail = response.json()["detail"]
    except (ValueError, KeyError, TypeError):
        return response.text[:200].replace("\n", " ")
    if isinstance(detail, list):
        parts = []
        for problem in detail:
            where = ".".join(str(p) for p in problem.get("loc", []) if p != "body")
            parts.append(f"{where}: {problem.get('msg')}" if where else str(problem.get("msg")))
        return "; ".join(parts)
    return str(detail)


def post_files(
    paths: list[Path],
    base_url: str,
    *,
    source: str | None = None,
    api_key: str | None = None,
    transport: httpx.BaseTransport | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Post every article the files hold; the bar counts each one read, rejected or not."""
    summary = Summary()
    items: list[Item] = []
    for path in files_under(paths):
        for item in items_in(path, source):
            if item.body is None:
                summary.rejects.append(f"{item.origin}: {item.error}")
            else:
                items.append(item)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    columns = (
        TextColumn("posting"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rejected]} rejected"), RateColumn(), TimeRemainingColumn(),
    )  # fmt: skip
    with (
        httpx.Client(base_url=base_url, timeout=60, headers=headers, transport=transport) as client,
        progress or Progress(*columns) as bar,
    ):
        unread = len(summary.rejects)
        task = bar.add_task("post", total=len(items) + unread, completed=unread, rejected=unread)
        for start in range(0, len(items), BATCH):
            chunk = items[start : start + BATCH]
            response = _post(client, "/articles/batch", [item.body for item in chunk])
            if response.status_code == 202:
                summary.ids.extend(response.json()["ids"])
                summary.accepted += len(chunk)
            else:
                # Find the bad items one by one so the good ones still get in.
                for item in chunk:
                    single = _post(client, "/articles", item.body)
                    if single.status_code == 202:
                        summary.ids.append(single.json()["id"])
                        summary.accepted += 1
                    else:
                        reason = f"HTTP {single.status_code}: {_reason(single)}"
                        summary.rejects.append(f"{item.origin}: {reason}")
            bar.update(task, advance=len(chunk), rejected=len(summary.rejects))
    return summary
