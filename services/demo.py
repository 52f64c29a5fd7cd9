"""``newsdedup demo``: the whole stack on the seed articles and copies of them, as a table."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from services.republish import republished
from services.stack import Stack
from shared.settings import Settings

# Five German articles on one story from five outlets: different articles, never duplicates.
SEEDS = Path(__file__).resolve().parent / "seeds"


def demo_articles(seed_dir: Path = SEEDS) -> list[dict[str, Any]]:
    """Each seed, then for each an outlet's republication and a verbatim copy elsewhere."""
    seeds = sorted(seed_dir.glob("*.txt"))
    if not seeds:
        raise FileNotFoundError(f"no .txt seeds in {seed_dir}")
    bodies: list[dict[str, Any]] = []
    for path in seeds:
        text = path.read_text(encoding="utf-8")
        bodies.append({"text": text, "url": f"https://seed.example/{path.stem}", "source": "seed"})
    for n, path in enumerate(seeds):
        text = path.read_text(encoding="utf-8")
        bodies.append({"text": republished(text, n), "url": f"https://regional.example/{n}",
                       "source": "regional"})  # fmt: skip
        bodies.append({"text": text, "url": f"https://aggregator.example/{n}?utm_source=x",
                       "source": "aggregator"})  # fmt: skip
    return bodies


def wait_for_stored(store_url: str, count: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stats: dict[str, Any] = httpx.get(store_url + "/stats", timeout=5).json()
        if stats["articles"] >= count:
            return stats
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {stats['articles']} of {count} articles stored")
        time.sleep(0.1)


def _snippet(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line[:width] + ("…" if len(line) > width else "")


def _reason(dup: dict[str, Any] | None) -> str:
    if dup is None:
        return ""
    return f"{dup['reason']} ({dup['measure']})" if dup["reason"] == "near" else dup["reason"]


def run_demo(settings: Settings, seed_dir: Path = SEEDS, console: Console | None = None) -> None:
    console = console or Console(width=None if sys.stdout.isatty() else 140)
    bodies = demo_articles(seed_dir)
    with Stack(settings) as stack:
        console.print(f"stack up: ingest {stack.url('ingest')}, store {stack.url('store')}")
        ids = httpx.post(stack.url("ingest") + "/articles/batch", json=bodies, timeout=30).json()
        stats = wait_for_stored(stack.url("store"), len(ids["ids"]))
        page = httpx.get(stack.url("store") + "/articles?status=canonical&limit=500").json()
        stories = {a["story_id"] for a in page["items"]}
        table = Table(
            title=f"{stats['canonical']} canonical, {stats['duplicates']} duplicates, "
            f"{len(stories)} {'story' if len(stories) == 1 else 'stories'}"
        )
        columns = ("canonical article", "id", "story", "duplicate id", "source", "reason",
                   "similarity")  # fmt: skip
        for column in columns:
            table.add_column(column, no_wrap=column != "canonical article")
        for article in reversed(page["items"]):
            dups = httpx.get(f"{stack.url('store')}/articles/{article['id']}/duplicates").json()
            first = True
            for dup in dups["duplicates"] or [None]:
                table.add_row(
                    _snippet(article["text"]) if first else "",
                    article["id"] if first else "",
                    "…" + article["story_id"][-6:] if first else "",
                    dup["id"] if dup else "-",
                    dup["source"] if dup else "",
                    _reason(dup),
                    f"{dup['similarity']:.2f}" if dup and dup["similarity"] is not None else "",
                )
                first = False
            table.add_section()
        console.print(table)
