"""The judge and the stack on three kinds of text (``shared_text``): news that rarely shares a
sentence, articles made of the same few sentences, and reports from one template.

For each kind: the judge alone (features worked out beforehand) at growing index sizes, its
rate over the next ``WINDOW`` articles, with the candidates it verified and the stories it
weighed per article; then end to end, POST to stored, through the stack ``newsdedup up`` runs
(its defaults) and through the naive stack (``naive_stack``), one after the other on the same
articles, each with its CPU per article.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import stages
from benchmarks.corpus import Doc
from benchmarks.shared_text import KINDS, news_sentences
from services.dedupe.judge.config import JudgeConfig
from services.dedupe.judge.fold import article_of
from services.dedupe.judge.judge import Judge
from services.dedupe.text.features import TextWork
from services.dedupe.text.signature import signer_for
from shared.ids import id_at
from shared.models import RawArticle
from shared.redis import sync_client
from shared.settings import Settings

WINDOW = 1_000  # articles judged to measure the rate at one index size


@dataclass(frozen=True)
class JudgePoint:
    kind: str
    indexed: int  # articles judged before the measured window
    rate: float  # articles per second over the window
    verified: float  # candidates verified per article in the window
    weighed: float  # stories weighed per canonical article in the window


@dataclass(frozen=True)
class Run:
    """One end-to-end run: its time, and the CPU seconds of each part (Redis included)."""

    seconds: float
    cpu: dict[str, float]


@dataclass(frozen=True)
class EndToEnd:
    kind: str
    articles: int
    ours: Run
    naive: Run


def docs_of(kind: str, count: int, seed: int, data: Path) -> list[Doc]:
    if kind == "news":
        return news_sentences(count, seed, data)
    made: list[Doc] = KINDS[kind](count, seed)  # type: ignore[operator]
    return made


def raw(docs: Sequence[Doc]) -> list[RawArticle]:
    start = int(time.time() * 1000)
    return [
        RawArticle(id=id_at(start + n, n), url=d.url, canonical_url=d.url, source=d.source,
                   ingested_at=datetime.now(UTC), text=d.text, content_sha256="-")
        for n, d in enumerate(docs)
    ]  # fmt: skip


def judge_points(
    kind: str, sizes: Sequence[int], settings: Settings, seed: int, data: Path
) -> list[JudgePoint]:
    """The judge alone at each size (one fill, measured as it passes each size)."""
    signer = signer_for(settings)
    articles = raw(docs_of(kind, max(sizes) + WINDOW, seed, data))
    work = TextWork(signer)
    features = [work.features(a) for a in articles]
    judge = Judge(JudgeConfig.from_settings(settings))
    points, done = [], 0
    for size in sorted(sizes):
        for n in range(done, size):
            judge.judge(article_of(articles[n]), features[n])
        verified, weighed = judge.verified, judge.weighed
        canonical = 0
        started = time.perf_counter()
        for n in range(size, size + WINDOW):
            canonical += judge.judge(article_of(articles[n]), features[n]).decision.is_canonical
        elapsed = time.perf_counter() - started
        done = size + WINDOW
        points.append(JudgePoint(kind, size, WINDOW / elapsed, (judge.verified - verified) / WINDOW,
                                 (judge.weighed - weighed) / max(canonical, 1)))  # fmt: skip
    return points


def ours(settings: Settings, bodies: Sequence[dict[str, Any]], concurrency: int, batch: int) -> Run:
    """POST to stored through the three services, each its own process, as ``newsdedup up``
    runs them."""
    with stages.stack(settings, ["store", "dedupe", "ingest"]) as running:
        assert running.redis_url is not None
        client = sync_client(running.redis_url)
        watches = {name: stages.Stopwatch(p.pid) for name, p in running.processes.items()}
        redis_before = stages.redis_cpu_seconds(client)
        started = time.perf_counter()
        stages.post_all(running.url("ingest"), bodies, batch, concurrency)
        stages.wait_until(lambda: stages.stored_count(running.url("store")) >= len(bodies),
                          "all stored")  # fmt: skip
        seconds = time.perf_counter() - started
        cpu = {name: watch.stop().cpu_seconds for name, watch in watches.items()}
        cpu["redis"] = stages.redis_cpu_seconds(client) - redis_before
        client.close()
    return Run(seconds, cpu)


def naive(
    settings: Settings, bodies: Sequence[dict[str, Any]], concurrency: int, batch: int
) -> Run:
    timed = stages.naive_end_to_end(settings, bodies, concurrency, batch)
    return Run(timed.seconds, {"ingest + consumer": timed.cpu_seconds,
                               "redis": timed.redis_cpu_seconds})  # fmt: skip


def end_to_end(
    kind: str, articles: int, concurrency: int, batch: int, seed: int, data: Path
) -> EndToEnd:
    """Ours, then the naive stack, on the same articles."""
    bodies = stages.article_bodies(docs_of(kind, articles, seed, data))
    with tempfile.TemporaryDirectory(prefix="newsdedup-kinds-") as tmp:
        mine = ours(stages.settings_for(Path(tmp), "ours"), bodies, concurrency, batch)
        theirs = naive(stages.settings_for(Path(tmp), "naive"), bodies, concurrency, batch)
    return EndToEnd(kind, articles, mine, theirs)
