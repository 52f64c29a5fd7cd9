"""The load the fault tests send, and how they read back what the stack made of it."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from services.cli.stack import Stack
from shared.models import Verdict
from shared.redis import sync_client
from shared.streams import decode
from tests.conftest import isolated_settings
from tests.waiting import wait_until


def corpus(count: int, seed: int) -> list[dict[str, Any]]:
    """70% distinct articles, then 30% copies of them (half exact, half with three words changed).

    Copies come after all originals, so each original is decided long before its copy arrives,
    crash or no crash: the verdicts of two runs can be compared one to one.
    """
    rng = random.Random(seed)
    vocabulary = [f"wort{i}" for i in range(5000)]
    originals = [rng.choices(vocabulary, k=150) for _ in range(count * 7 // 10)]
    copies = []
    for n in range(count - len(originals)):
        words = list(rng.choice(originals))
        if n % 2:
            for position in rng.sample(range(len(words)), 3):
                words[position] = rng.choice(vocabulary)
        copies.append(words)
    rng.shuffle(copies)
    return [{"text": " ".join(words), "source": "faults"} for words in originals + copies]


# The suite sends 1,000 articles per run; NEWSDEDUP_FAULT_ARTICLES=5000 sends 5,000.
COUNT = int(os.environ.get("NEWSDEDUP_FAULT_ARTICLES", "1000"))
BODIES = corpus(COUNT, seed=4)


def fault_stack(redis_url: str, data_dir: Path) -> Stack:
    """A stack of its own on the shared Redis; its services are started by the test."""
    return Stack(isolated_settings(redis_url, data_dir, ingest_port=0, store_port=0))


@dataclass
class Posted:
    ids: list[str] = field(default_factory=list)
    refused: int = 0  # 503 answers (backlog or Redis away), each retried
    unreachable: int = 0  # connection errors, each retried


def post_all(
    stack: Stack, bodies: list[dict[str, Any]], batch: int = 250, posted: Posted | None = None
) -> Posted:
    """Post in batches, retrying a batch that was not accepted (503 or no answer) as a client
    would; only 202 answers count as accepted. ``posted`` is filled as it goes."""
    posted = posted or Posted()
    for start in range(0, len(bodies), batch):
        chunk = bodies[start : start + batch]
        deadline = time.monotonic() + 120
        while True:
            try:
                url = stack.url("ingest") + "/articles/batch"
                response = httpx.post(url, json=chunk, timeout=30)
            except httpx.TransportError:
                posted.unreachable += 1
            else:
                if response.status_code == 202:
                    posted.ids.extend(response.json()["ids"])
                    break
                assert response.status_code == 503, response.text
                posted.refused += 1
            assert time.monotonic() < deadline, "ingest did not accept the batch in 120 s"
            time.sleep(0.2)  # a client's retry pause, not a wait for async work
    return posted


def stored_count(stack: Stack) -> int:
    try:
        response = httpx.get(stack.url("store") + "/stats", timeout=5)
    except httpx.TransportError:
        return -1  # the store is being restarted
    if response.status_code == 503:
        return -1  # its database is busy (SQLite locked by the writer): it asks to come back
    return int(response.json()["articles"])


def all_stored(stack: Stack, timeout: float = 180) -> None:
    wait_until(lambda: stored_count(stack), lambda n: n >= COUNT, timeout=timeout)


def stored(stack: Stack) -> dict[str, tuple[str, str]]:
    """Every stored article: id -> (status, canonical id)."""
    rows: dict[str, tuple[str, str]] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        page = httpx.get(stack.url("store") + "/articles", params=params, timeout=30).json()
        for item in page["items"]:
            assert item["id"] not in rows, f"{item['id']} listed twice"
            rows[item["id"]] = (item["status"], item["canonical_id"])
        cursor = page["next_cursor"]
        if not cursor:
            return rows


def shape(ids: list[str], rows: dict[str, tuple[str, str]]) -> list[tuple[str, int]]:
    """Verdicts by posting position: (status, position of the canonical article). Two runs give
    different ids to the same articles; positions make them comparable."""
    position = {article_id: n for n, article_id in enumerate(ids)}
    return [(rows[i][0], position[rows[i][1]]) for i in ids]


def published(stack: Stack) -> Counter[str]:
    """How often each article id was published on the verdict streams."""
    assert stack.redis_url
    client = sync_client(stack.redis_url)
    counts: Counter[str] = Counter(
        decode(Verdict, fields).id
        for stream in (stack.settings.stream_canonical, stack.settings.stream_duplicates)
        for _, fields in client.xrange(stream)
    )
    client.close()
    return counts
