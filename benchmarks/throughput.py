"""Throughput: each stage against a baseline measured in the same run, median and range of runs.

So far stage (a): the dedupe core in one process (clean, normalise, shingle, MinHash, LSH
candidates, verification, decision) against the script a user would write around datasketch
(per-shingle ``MinHash.update`` with SHA-1, an in-memory ``MinHashLSH``). Both judge the same
corpus: real news with 30% republished copies. Nothing here asserts a time; it prints.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from datasketch import MinHash, MinHashLSH
from rich.console import Console
from rich.table import Table

from benchmarks.corpus import DEFAULT_DATA, TRANSFORMATIONS, Doc, build, load_news, load_seeds
from services.dedupe.decide import DuplicateOf, Entry, State, judge
from services.dedupe.engine import thresholds_for
from services.dedupe.features import features
from services.dedupe.signature import SignatureParams, Signer
from shared.settings import Settings

COPY_SHARE = 0.3


def workload(base: Sequence[Doc], articles: int, seed: int) -> list[Doc]:
    """``articles`` documents: base articles in time order, then 30% copies of them."""
    per_transformation = round(articles * COPY_SHARE / len(TRANSFORMATIONS))
    originals = list(base[: articles - per_transformation * len(TRANSFORMATIONS)])
    return build(originals, per_transformation, seed).docs


class CoreIndex:
    """The engine's decision on one process: our features and rules, buckets in a dict."""

    def __init__(self, settings: Settings) -> None:
        self.signer = Signer(
            SignatureParams(
                settings.num_perm, settings.seed, settings.shingle_size,
                settings.candidate_threshold,
            )
        )  # fmt: skip
        self.thresholds = thresholds_for(settings)
        self.entries: list[Entry] = []
        self.buckets: dict[tuple[int, bytes], list[int]] = {}

    def judge(self, doc: Doc) -> bool:
        """File ``doc``; True when it is a duplicate of an earlier one."""
        found = features(doc.text, doc.url, self.signer)
        entry = Entry(
            f"{len(self.entries):026d}", State.CANONICAL, bytes.fromhex(found.content_hash[:16]),
            found.size, found.signature,
        )  # fmt: skip
        keys = list(enumerate(found.buckets))
        seen = {n for key in keys for n in self.buckets.get(key, ())}
        if isinstance(judge(entry, [self.entries[n] for n in seen], self.thresholds), DuplicateOf):
            return True
        for key in keys:
            self.buckets.setdefault(key, []).append(len(self.entries))
        self.entries.append(entry)
        return False


_WORD = re.compile(r"\w+")


class NaiveIndex:
    """What a user writes around datasketch in a few lines: the baseline."""

    def __init__(self, settings: Settings) -> None:
        self.num_perm = settings.num_perm
        self.size = settings.shingle_size
        self.threshold = settings.threshold
        self.lsh = MinHashLSH(threshold=settings.threshold, num_perm=settings.num_perm)
        self.stored: dict[str, MinHash] = {}

    def judge(self, doc: Doc) -> bool:
        words = _WORD.findall(doc.text.lower())
        minhash = MinHash(num_perm=self.num_perm)
        for n in range(max(1, len(words) - self.size + 1)):
            minhash.update(" ".join(words[n : n + self.size]).encode())
        for key in self.lsh.query(minhash):
            if minhash.jaccard(self.stored[key]) >= self.threshold:
                return True
        key = str(len(self.stored))
        self.lsh.insert(key, minhash)
        self.stored[key] = minhash
        return False


@dataclass(frozen=True)
class Measured:
    rates: list[float]  # articles per second, one per run
    duplicates: int

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def measure(make: Callable[[], CoreIndex | NaiveIndex], docs: Sequence[Doc], runs: int) -> Measured:
    rates, duplicates = [], 0
    for _ in range(runs):
        index = make()
        started = time.perf_counter()
        duplicates = sum(index.judge(doc) for doc in docs)
        rates.append(len(docs) / (time.perf_counter() - started))
    return Measured(rates, duplicates)


def _rate(measured: Measured) -> str:
    return f"{measured.median:,.0f}"


def _spread(measured: Measured) -> str:
    return f"{min(measured.rates):,.0f}–{max(measured.rates):,.0f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    console = Console(width=160)
    try:
        base = load_seeds() + load_news(args.data)
    except FileNotFoundError as missing:
        console.print(f"[red]{missing}[/red]")
        return 2
    docs = workload(base, args.articles, args.seed)
    settings = Settings()
    ours = measure(lambda: CoreIndex(settings), docs, args.runs)
    naive = measure(lambda: NaiveIndex(settings), docs, args.runs)
    size = sum(len(d.text.encode()) for d in docs) / len(docs)
    table = Table(title=f"{len(docs):,} articles ({size / 1024:.1f} KB mean), {args.runs} runs")
    for column in ("stage", "articles/s (median)", "min–max", "baseline", "baseline min–max",
                   "ratio", "duplicates found / baseline"):  # fmt: skip
        table.add_column(column, justify="left" if column == "stage" else "right")
    table.add_row(
        "(a) dedupe core, in-process", _rate(ours), _spread(ours), _rate(naive), _spread(naive),
        f"{ours.median / naive.median:.1f}×", f"{ours.duplicates} / {naive.duplicates}",
    )  # fmt: skip
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
