"""``newsdedup demo``: the whole stack on the seed articles and copies of them, as a table."""

from __future__ import annotations

import time
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from services.cli.republish import republished
from services.cli.stack import Stack
from shared.settings import Settings

# Five German articles on one story from five outlets: different articles, never duplicates.


def _seeds() -> Traversable:
    """The sample articles: inside the package as a wheel ships them (from ``seeds/``), else
    ``seeds/`` at the top of the checkout this runs from (an editable install)."""
    packaged = files("services") / "seeds"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "seeds"


SEEDS = _seeds()


def demo_articles(seed_dir: Traversable = SEEDS) -> list[dict[str, Any]]:
    """Each seed, then for each an outlet's republication and a verbatim copy elsewhere."""
    seeds = sorted((p for p in seed_dir.iterdir() if p.name.endswith(".txt")), key=lambda p: p.name)
    if not seeds:
        raise FileNotFoundError(f"no .txt seeds in {seed_dir}")
    bodies: list[dict[str, Any]] = []
    for path in seeds:
        text = path.read_text(encoding="utf-8")
        bodies.append(
            {
                "text": text,
                "url": f"https://seed.example/{path.name.removesuffix('.txt')}",
                "source": "seed",
            }
        )
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


def _short(article_id: str) -> str:
    """An id by its end: ULIDs made in one second share their first ten characters (the time)."""
    return "…" + article_id[-6:]


def _match(dup: dict[str, Any]) -> str:
    return f"{dup['reason']} ({dup['measure']})" if dup["reason"] == "near" else dup["reason"]


LEGEND = (
    "exact: the same text once boilerplate, layout and case are set aside. near: a different "
    "text sharing most of its 5-word runs, as jaccard (their share in common) or containment "
    "(the share of the shorter text's runs found in the longer), or most of its word pairs "
    "(pair_jaccard, pair_containment: heavy edits, short teasers). sim: that measure."
)


def run_demo(
    settings: Settings, seed_dir: Traversable = SEEDS, console: Console | None = None
) -> None:
    """Post the samples and their copies to a stack of its own, print what dedupe decided: a
    table that reads at 80 columns (the terminal's width, else ``COLUMNS``, else 80)."""
    console = console or Console(soft_wrap=False)
    bodies = demo_articles(seed_dir)
    console.print(f"newsdedup demo: {len(bodies)} articles, a stack of its own (stopped after)")
    with Stack(settings) as stack:
        store = stack.url("store")
        ids = httpx.post(stack.url("ingest") + "/articles/batch", json=bodies, timeout=30).json()
        stats = wait_for_stored(store, len(ids["ids"]))
        page = httpx.get(store + "/articles?status=canonical&limit=500").json()
        stories = {a["story_id"] for a in page["items"]}
        table = Table(
            title=f"{stats['canonical']} canonical, {stats['duplicates']} duplicates, "
            f"{len(stories)} {'story' if len(stories) == 1 else 'stories'}",
            caption=LEGEND, caption_justify="left", pad_edge=False, expand=True,
        )  # fmt: skip
        table.add_column("article", ratio=1, no_wrap=True, overflow="ellipsis", min_width=12)
        table.add_column("id", no_wrap=True)
        table.add_column("source", no_wrap=True)
        table.add_column("verdict", no_wrap=True)
        table.add_column("sim", no_wrap=True, justify="right")
        for article in reversed(page["items"]):
            dups = httpx.get(f"{store}/articles/{article['id']}/duplicates").json()["duplicates"]
            table.add_row(article["headline"], _short(article["id"]), article["source"] or "",
                          "canonical", "")  # fmt: skip
            for dup in dups:
                similarity = "" if dup["similarity"] is None else f"{dup['similarity']:.2f}"
                table.add_row(f"  └ copy of {_short(article['id'])}", _short(dup["id"]),
                              dup["source"] or "", _match(dup), similarity)  # fmt: skip
            table.add_section()
        console.print(table)
        if len(stories) == 1:
            console.print(f"story {_short(stories.pop())}: every canonical article above")
