"""Throughput: each stage against a baseline measured in the same run, median and range of runs.

(a) the dedupe core in one process (clean, normalise, shingle, MinHash, LSH candidates,
verification, decision) against the script a user would write around datasketch (per-shingle
``MinHash.update`` with SHA-1, an in-memory ``MinHashLSH``); (b)–(e) the services as real
processes (``benchmarks.stages``); scale: the index at growing sizes (``benchmarks.scale``);
cluster: dedupe replicas on a Redis Cluster (``benchmarks.scaleout``).
All judge the same corpus: real news with 30% republished copies. Nothing here asserts a time;
it prints.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from datasketch import MinHash, MinHashLSH
from rich.console import Console
from rich.table import Table

from benchmarks import stages
from benchmarks.corpus import DEFAULT_DATA, TRANSFORMATIONS, Doc, build, load_news, load_seeds
from benchmarks.scale import ScalePoint, measure_scale
from benchmarks.scaleout import (
    WARMUP_ARTICLES,
    measure_replicas,
    measure_scaleout,
    scaleout_table,
)
from benchmarks.stages import Latencies
from benchmarks.text_kinds import WINDOW, EndToEnd, JudgePoint, end_to_end, judge_points
from services.dedupe.judge.config import JudgeConfig
from services.dedupe.judge.fold import article_of
from services.dedupe.judge.judge import Judge
from services.dedupe.text.features import TextFeatures, TextWork
from services.dedupe.text.signature import signer_for
from shared.ids import id_at
from shared.models import RawArticle
from shared.settings import Settings

COPY_SHARE = 0.3
INGESTED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def workload(base: Sequence[Doc], articles: int, seed: int) -> list[Doc]:
    """``articles`` documents: base articles in time order, then 30% copies of them."""
    per_transformation = round(articles * COPY_SHARE / len(TRANSFORMATIONS))
    originals = list(base[: articles - per_transformation * len(TRANSFORMATIONS)])
    return build(originals, per_transformation, seed).docs


def raw_articles(docs: Sequence[Doc]) -> list[RawArticle]:
    """The documents as ingest hands them on, with ids a millisecond apart."""
    start = int(time.time() * 1000)
    return [
        RawArticle(id=id_at(start + n, n), url=d.url, canonical_url=d.url, title=d.title,
                   source=d.source, ingested_at=INGESTED_AT, text=d.text, content_sha256="-")
        for n, d in enumerate(docs)
    ]  # fmt: skip


class Core:
    """The dedupe core in one process: each article's text work, then the judge."""

    def __init__(self, settings: Settings) -> None:
        self.work = TextWork(signer_for(settings))
        self.judge = Judge(JudgeConfig.from_settings(settings))

    def judge_one(self, article: RawArticle) -> bool:
        """True when ``article`` is a duplicate of an earlier one."""
        features = self.work.features(article)
        judged = self.judge.judge(
            article_of(article), features,
            lambda recurring: self.work.without_recurring(article, recurring),
        )  # fmt: skip
        return not judged.decision.is_canonical


class JudgeAlone:
    """The judge with every article's features worked out beforehand (as text-work replicas
    leave them): what one judge process can decide per second."""

    def __init__(self, settings: Settings, prepared: Sequence[TextFeatures]) -> None:
        self.judge = Judge(JudgeConfig.from_settings(settings))
        self.prepared = iter(prepared)

    def judge_one(self, article: RawArticle) -> bool:
        judged = self.judge.judge(article_of(article), next(self.prepared))
        return not judged.decision.is_canonical


_WORD = re.compile(r"\w+")


class NaiveIndex:
    """What a user writes around datasketch in a few lines: the baseline."""

    def __init__(self, settings: Settings) -> None:
        self.num_perm = settings.num_perm
        self.size = settings.shingle_size
        self.threshold = settings.threshold
        self.lsh = MinHashLSH(threshold=settings.threshold, num_perm=settings.num_perm)
        self.stored: dict[str, MinHash] = {}

    def judge_one(self, article: RawArticle) -> bool:
        words = _WORD.findall(article.text.lower())
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


class Judging(Protocol):
    def judge_one(self, article: RawArticle) -> bool: ...


def measure(make: Callable[[], Judging], articles: Sequence[RawArticle], runs: int) -> Measured:
    rates, duplicates = [], 0
    for _ in range(runs):
        with frozen_heap():
            index = make()
            started = time.perf_counter()
            duplicates = sum(index.judge_one(article) for article in articles)
            rates.append(len(articles) / (time.perf_counter() - started))
    return Measured(rates, duplicates)


@contextmanager
def frozen_heap() -> Iterator[None]:
    """What is alive before a run (the corpus, tens of thousands of documents, which a service
    does not hold) is kept out of the garbage collector's passes during it, as a service freezes
    what it loaded at start (``newsdedup serve``)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass(frozen=True)
class TextWorkFigures:
    ms: list[float]  # CPU ms per article, one figure per run
    story_terms_ms: list[float]  # of it, the story terms (``TermCounter.count``)
    prepared: list[TextFeatures]


def text_work(articles: Sequence[RawArticle], settings: Settings, runs: int) -> TextWorkFigures:
    work = TextWork(signer_for(settings))
    figures: list[float] = []
    terms: list[float] = []
    prepared: list[TextFeatures] = []
    for _ in range(runs):
        started = time.process_time()
        prepared = [work.features(article) for article in articles]
        figures.append((time.process_time() - started) / len(articles) * 1000)
        started = time.process_time()
        for article in articles:
            work.terms.count(article.text, article.title)
        terms.append((time.process_time() - started) / len(articles) * 1000)
    return TextWorkFigures(figures, terms, prepared)


def measure_alternately(
    makers: Sequence[Callable[[], Judging]], articles: Sequence[RawArticle], runs: int
) -> list[Measured]:
    """``measure`` for each maker, one run of each in turn: this machine's speed drifts by half
    within minutes, and a slow spell then falls on both sides instead of on one."""
    each = [[measure(make, articles, 1) for make in makers] for _ in range(runs)]
    return [
        Measured([r for run in each for r in run[n].rates], each[-1][n].duplicates)
        for n in range(len(makers))
    ]


@dataclass(frozen=True)
class Row:
    stage: str
    ours: list[float]
    baseline: list[float]
    baseline_name: str
    note: str = ""


def _median_range(values: list[float], digits: int = 0) -> tuple[str, str]:
    return (
        f"{statistics.median(values):,.{digits}f}",
        f"{min(values):,.{digits}f}–{max(values):,.{digits}f}",
    )


def rows_table(title: str, rows: Sequence[Row]) -> Table:
    table = Table(title=title)
    for column in ("stage", "articles/s (median)", "min–max", "baseline", "baseline (median)",
                   "baseline min–max", "ratio", "note"):  # fmt: skip
        table.add_column(
            column, justify="left" if column in ("stage", "baseline", "note") else "right"
        )
    for row in rows:
        ratio = statistics.median(row.ours) / statistics.median(row.baseline)
        table.add_row(row.stage, *_median_range(row.ours), row.baseline_name,
                      *_median_range(row.baseline), f"{ratio:.2f}×", row.note)  # fmt: skip
    return table


def service_rows(
    docs: Sequence[Doc], runs: int, concurrency: int
) -> tuple[list[Row], list[Latencies]]:
    """Stages (b)–(e), each run on fresh processes, state and keys."""
    n = len(docs)
    rates: dict[str, list[float]] = {}
    cpu_ms: dict[str, list[float]] = {}
    redis_cpu_ms: list[float] = []  # of the Redis server, during (b)
    commands: list[float] = []  # Redis commands per article, all services, end to end
    latencies: list[Latencies] = []
    bodies = stages.article_bodies(docs)
    with tempfile.TemporaryDirectory(prefix="newsdedup-bench-") as tmp:
        root = Path(tmp)

        def record(name: str, timed: stages.Timed) -> None:
            rates.setdefault(name, []).append(timed.rate(n))
            cpu_ms.setdefault(name, []).append(timed.cpu_seconds / n * 1000)

        for run in range(runs):

            def fresh(stage: str, run: int = run) -> Settings:
                return stages.settings_for(root, f"{stage}-{run}")

            payloads = stages.raw_payloads(docs)
            record("pass", stages.passthrough(fresh("pass"), payloads))
            timed, verdicts = stages.dedupe(fresh("dedupe"), payloads)
            record("dedupe", timed)
            redis_cpu_ms.append(timed.redis_cpu_seconds / n * 1000)
            record("store", stages.store(fresh("store"), verdicts))
            for batch in (1, 100):
                record(
                    f"ingest{batch}",
                    stages.ingest(fresh(f"ingest{batch}"), bodies, batch, concurrency),
                )
                record(
                    f"bare{batch}",
                    stages.bare_ingest(fresh(f"bare{batch}"), bodies, batch, concurrency),
                )
            e2e = stages.end_to_end(fresh("e2e"), bodies, concurrency)
            record("e2e", e2e)
            commands.append(e2e.redis_commands / n)
            latencies.append(stages.latency(fresh("latency"), bodies, e2e.rate(n) / 2))

    def cpu(name: str) -> str:
        return f"CPU {statistics.median(cpu_ms[name]):.2f} ms/article"

    passthrough = "FastStream pass-through"
    rows = [
        Row("(b) dedupe service, stream → verdicts", rates["dedupe"], rates["pass"], passthrough,
            f"{cpu('dedupe')}; Redis server {statistics.median(redis_cpu_ms):.2f}"),
        Row("(c) ingest, one article per POST", rates["ingest1"], rates["bare1"],
            "bare FastAPI XADD", f"{concurrency} clients"),
        Row("(c) ingest, 100 articles per POST", rates["ingest100"], rates["bare100"],
            "bare FastAPI XADD", f"{concurrency} clients"),
        Row("(d) store, verdicts → rows (SQLite)", rates["store"], rates["pass"], passthrough,
            cpu("store")),
        Row("end to end, POST → stored", rates["e2e"], rates["pass"], passthrough,
            f"CPU {statistics.median(cpu_ms['e2e']):.2f} ms/article, all services; "
            f"{statistics.median(commands):.1f} Redis commands/article (target ≤ 15); "
            "target ≥ 1,500/s"),
    ]  # fmt: skip
    return rows, latencies


def latency_table(latencies: Sequence[Latencies]) -> Table:
    table = Table(title="POST → verdict latency at half the end-to-end rate (batches of 10)")
    names = {"rate": "posted at (articles/s)", "p50_ms": "p50 ms", "p95_ms": "p95 ms",
             "p99_ms": "p99 ms"}  # fmt: skip
    for column in names.values():
        table.add_column(f"{column}: median (min–max)", justify="right")
    cells = []
    for name in names:
        median, spread = _median_range([getattr(lat, name) for lat in latencies])
        cells.append(f"{median} ({spread})")
    table.add_row(*cells)
    return table


def scale_table(points: Sequence[ScalePoint]) -> Table:
    table = Table(title="The judge at scale (synthetic canonical articles, through the judge)")
    for column in ("indexed articles", "memory B/article (target ≤ 2,048)",
                   "snapshot B/article", "µs per article judged (median)", "min–max",
                   "snapshot written s", "journal replayed (articles)",
                   "takeover s: lease → first verdict (target ≤ 10 at 100k, ≤ 30 at 1M)",
                   ):  # fmt: skip
        table.add_column(column, justify="right")
    for point in points:
        median, spread = _median_range(point.judge_us)
        table.add_row(f"{point.indexed:,}", f"{point.bytes_per_article:,.0f}",
                      f"{point.snapshot_bytes_per_article:,.0f}", median, spread,
                      f"{point.snapshot_s:.1f}", f"{point.replayed:,}",
                      f"{point.takeover_s:.1f}")  # fmt: skip
    return table


def kinds_judge_table(points: Sequence[JudgePoint]) -> Table:
    title = (f"The judge alone on three kinds of text (features worked out before; the rate "
             f"over the {WINDOW:,} articles after each index size)")  # fmt: skip
    table = Table(title=title)
    for column in ("text", "indexed articles", "articles/s", "× its rate at the smallest",
                   "candidates verified per article", "stories weighed per canonical article",
                   "target"):  # fmt: skip
        table.add_column(column, justify="right")
    first: dict[str, float] = {}
    for point in points:
        first.setdefault(point.kind, point.rate)
        table.add_row(point.kind, f"{point.indexed:,}", f"{point.rate:,.0f}",
                      f"{point.rate / first[point.kind]:.2f}", f"{point.verified:.2f}",
                      f"{point.weighed:.2f}",
                      "≥ 10,000/s at 10k; ≥ 0.67× at 100k")  # fmt: skip
    return table


def kinds_e2e_table(runs: Sequence[EndToEnd]) -> Table:
    table = Table(title="End to end, POST → stored: newsdedup up (its defaults) against the naive "
                        "stack on the same articles, 200 per POST by 4 clients")  # fmt: skip
    for column in ("text", "articles", "ours articles/s (target ≥ 1,500)", "naive articles/s",
                   "ours / naive (target ≥ 1.2×)", "ours CPU ms/article by part",
                   "naive CPU ms/article by part"):  # fmt: skip
        table.add_column(column, justify="right")

    def parts(cpu: dict[str, float], articles: int) -> str:
        return ", ".join(f"{name} {seconds / articles * 1000:.2f}" for name, seconds in cpu.items())

    for run in runs:
        ours, naive = run.articles / run.ours.seconds, run.articles / run.naive.seconds
        table.add_row(run.kind, f"{run.articles:,}", f"{ours:,.0f}", f"{naive:,.0f}",
                      f"{ours / naive:.2f}", parts(run.ours.cpu, run.articles),
                      parts(run.naive.cpu, run.articles))  # fmt: skip
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=8, help="HTTP clients")
    parser.add_argument("--stages", default="core,services,kinds,replicas,scale,cluster",
                        help="of core, services, kinds, replicas, scale, cluster")  # fmt: skip
    parser.add_argument("--kinds", default="news,shared,templated",
                        help="kinds of text for the kinds stage")  # fmt: skip
    parser.add_argument("--kinds-sizes", default="1000,10000,100000",
                        help="index sizes the kinds stage measures the judge at")  # fmt: skip
    parser.add_argument("--kinds-articles", type=int, default=10_000,
                        help="articles posted end to end per kind")  # fmt: skip
    parser.add_argument("--scale", default="10000,100000,1000000",
                        help="index sizes for the scale stage")  # fmt: skip
    parser.add_argument("--replicas", default="1,2,4",
                        help="dedupe replicas for the replicas and cluster stages")  # fmt: skip
    parser.add_argument("--control", type=int, default=None,
                        help="independent one-replica stacks for the cluster stage's control "
                             "(default: the largest replica count; 0: none)")  # fmt: skip
    args = parser.parse_args(argv)
    console = Console(width=200)
    try:
        base = load_seeds() + load_news(args.data)
    except FileNotFoundError as missing:
        console.print(f"[red]{missing}[/red]")
        return 2
    docs = workload(base, args.articles, args.seed)
    settings = Settings()
    wanted = set(args.stages.split(","))
    size = sum(len(d.text.encode()) for d in docs) / len(docs)
    console.print(f"{len(docs):,} articles ({size / 1024:.1f} KB mean), {args.runs} runs, "
                  f"{os.cpu_count()} CPUs, Python {platform.python_version()}")  # fmt: skip
    rows: list[Row] = []
    articles = raw_articles(docs)
    if "core" in wanted:
        core, naive = measure_alternately(
            [lambda: Core(settings), lambda: NaiveIndex(settings)], articles, args.runs
        )
        note = f"duplicates found {core.duplicates} / {naive.duplicates}"
        rows.append(Row("(a) dedupe core, in-process", core.rates, naive.rates,
                        "datasketch script", note))  # fmt: skip
        work = text_work(articles, settings, args.runs)
        judges: list[JudgeAlone] = []

        def alone_judge() -> JudgeAlone:
            judges.append(JudgeAlone(settings, work.prepared))
            return judges[-1]

        alone = measure(alone_judge, articles, args.runs)
        rows.append(
            Row(
                "(a) the judge alone, features worked out before",
                alone.rates,
                core.rates,
                "dedupe core, in-process",
                f"target ≥ 20,000/s; text work {statistics.median(work.ms):.3f} "
                f"ms/article ({min(work.ms):.3f}–{max(work.ms):.3f}; target ≤ 0.25)",
            )
        )
        terms_ms = statistics.median(work.story_terms_ms)
        placing_ms = statistics.median(j.judge.placing_s for j in judges) / len(articles) * 1000
        console.print(
            f"stories: terms {terms_ms:.3f} ms/article in the text work, placement "
            f"{placing_ms:.3f} ms/article in the judge, together {terms_ms + placing_ms:.3f} "
            f"(target ≤ 0.15; medians of {args.runs} runs)"
        )
    latencies: list[Latencies] = []
    if "services" in wanted:
        more, latencies = service_rows(docs, args.runs, args.concurrency)
        rows.extend(more)
    if rows:
        console.print(rows_table("Throughput", rows))
        by_stage = {row.stage: statistics.median(row.ours) for row in rows}
        core_rate = by_stage.get("(a) dedupe core, in-process")
        e2e_rate = by_stage.get("end to end, POST → stored")
        if core_rate and e2e_rate:
            console.print(f"end to end / dedupe core in-process: {e2e_rate / core_rate:.2f}× "
                          "(target ≥ 0.5×)")  # fmt: skip
    if latencies:
        console.print(latency_table(latencies))
    if "kinds" in wanted:
        kinds = args.kinds.split(",")
        sizes = [int(s) for s in args.kinds_sizes.split(",")]
        judged = [p for kind in kinds
                  for p in judge_points(kind, sizes, settings, args.seed, args.data)]  # fmt: skip
        console.print(kinds_judge_table(judged))
        runs = [end_to_end(kind, args.kinds_articles, 4, 200, args.seed, args.data)
                for kind in kinds]  # fmt: skip
        console.print(kinds_e2e_table(runs))
    if "scale" in wanted:
        sizes = [int(s) for s in args.scale.split(",")]
        with tempfile.TemporaryDirectory(prefix="newsdedup-scale-") as tmp:
            points = measure_scale(sizes, settings, Path(tmp), args.runs, args.seed)
        console.print(scale_table(points))
    if "replicas" in wanted:
        replicas = [int(n) for n in args.replicas.split(",")]
        bodies = stages.article_bodies(docs)
        warmup = stages.article_bodies(base[-WARMUP_ARTICLES:])
        counted = measure_replicas(bodies, replicas, args.runs, args.concurrency, warmup)
        console.print(scaleout_table(counted, os.cpu_count(), base=0))
    if "cluster" in wanted:
        replicas = [int(n) for n in args.replicas.split(",")]
        bodies = stages.article_bodies(docs)
        warmup = stages.article_bodies(base[-WARMUP_ARTICLES:])  # unused by 3,000
        control = max(replicas) if args.control is None else args.control
        scaled = measure_scaleout(
            bodies, replicas, args.runs, args.concurrency, warmup, control if control > 1 else 0
        )
        console.print(scaleout_table(scaled, os.cpu_count()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
