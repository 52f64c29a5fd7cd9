"""Scale-out: end to end (POST → stored) with 1, 2 and 4 dedupe replicas on a real 3-master
Redis Cluster, the raw stream in 4 partitions, against one dedupe on one Redis server in the
same run.

On a machine with few cores the rate is bounded by the cores, not by the design; the dedupe CPU
time per article (all replicas together) is the figure that shows whether replicas add work.
CPU time also varies with how busy the machine is, so two figures are printed beside it: the
Redis commands per article (every service's, counted by the servers), and the CPU time of the
replicas' text work per article (features and term counts, counted by the replicas). Both are
the same work for an article however many replicas run: the text work's growth is what the
machine does to identical work, and the rest's (dedupe CPU minus text work) is to be read
against it.

The control row runs the largest replica count again as that many stacks of one replica each,
sharing only the cluster: each its own index, each all the articles. Each replica does exactly
the work of one replica alone, protocol and round trips included, on a machine at least as busy;
so the control's growth is what sharing the cores does to the same work, and the replicas'
growth beyond it is what sharing one index costs.

Every setup first stores ``WARMUP_ARTICLES`` articles that are not measured: fresh processes
fill what they keep for the next articles, and n fresh replicas would do so n times.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from benchmarks import stages
from benchmarks.cluster import EmbeddedCluster

PARTITIONS = 4
WARMUP_ARTICLES = 1000


@dataclass
class Point:
    label: str
    rates: list[float] = field(default_factory=list)  # articles per second, one per run
    dedupe_cpu_ms: list[float] = field(default_factory=list)  # per article, all replicas
    all_cpu_ms: list[float] = field(default_factory=list)  # per article, every service
    commands: list[float] = field(default_factory=list)  # Redis commands per article, all services
    text_work_ms: list[float] = field(default_factory=list)  # per article, all replicas

    def record(self, count: int, every: stages.Timed, dedupe: stages.Timed) -> None:
        self.rates.append(every.rate(count))
        self.dedupe_cpu_ms.append(dedupe.cpu_seconds / count * 1000)
        self.all_cpu_ms.append(every.cpu_seconds / count * 1000)
        self.commands.append(every.redis_commands / count)
        self.text_work_ms.append(dedupe.text_work_seconds / count * 1000)


def measure_scaleout(
    bodies: Sequence[dict[str, Any]],
    replicas: Sequence[int],
    runs: int,
    concurrency: int,
    warmup: Sequence[dict[str, Any]] = (),
    independent: int = 0,
) -> list[Point]:
    """The baseline (one server, one replica) first, then each replica count on the cluster;
    each after ``warmup`` (unmeasured) on fresh processes and a fresh index. Last, unless
    ``independent`` is 0, the control: that many single-replica stacks at once on the cluster,
    each with its own index and all the articles (``stages.end_to_end_independent``)."""
    baseline = Point("one Redis server, 1 replica, 1 partition")
    points = [Point(f"3-master cluster, {n} replica{'s' if n > 1 else ''}, "
                    f"{PARTITIONS} partitions") for n in replicas]  # fmt: skip
    control = Point(f"control: {independent} stacks of 1 replica at once, each its own index "
                    f"and all articles")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="newsdedup-scaleout-") as tmp:
        root = Path(tmp)
        for run in range(runs):
            single = stages.settings_for(root, f"single-{run}")
            measured = stages.end_to_end_replicas(single, bodies, concurrency, 1, warmup)
            baseline.record(len(bodies), *measured)
            with EmbeddedCluster(root / f"cluster-{run}") as cluster:
                for n, point in zip(replicas, points, strict=True):
                    settings = stages.settings_for(root, f"cluster{n}-{run}").model_copy(
                        update={"redis_url": cluster.url, "partitions": PARTITIONS}
                    )
                    measured = stages.end_to_end_replicas(settings, bodies, concurrency, n, warmup)
                    point.record(len(bodies), *measured)
                if independent:
                    alone = [
                        stages.settings_for(root, f"control{k}-{run}").model_copy(
                            update={"redis_url": cluster.url, "partitions": PARTITIONS}
                        )
                        for k in range(independent)
                    ]
                    measured = stages.end_to_end_independent(alone, bodies, concurrency, warmup)
                    control.record(independent * len(bodies), *measured)
    return [baseline, *points, *([control] if independent else [])]


def measure_replicas(
    bodies: Sequence[dict[str, Any]],
    replicas: Sequence[int],
    runs: int,
    concurrency: int,
    warmup: Sequence[dict[str, Any]] = (),
) -> list[Point]:
    """End to end on one Redis server with each count of dedupe replicas, fresh each run."""
    points = [Point(f"one Redis server, {n} replica{'s' if n > 1 else ''}") for n in replicas]
    with tempfile.TemporaryDirectory(prefix="newsdedup-replicas-") as tmp:
        for run in range(runs):
            for n, point in zip(replicas, points, strict=True):
                settings = stages.settings_for(Path(tmp), f"replicas{n}-{run}")
                measured = stages.end_to_end_replicas(settings, bodies, concurrency, n, warmup)
                point.record(len(bodies), *measured)
    return points


def scaleout_table(points: Sequence[Point], cpus: int | None, base: int = 1) -> Table:
    """Growth is against row ``base`` (the first cluster row: one replica), of the dedupe CPU
    per article, of
    its text work's (the same work whatever the replicas: what the machine does to it), and of
    the rest's (the protocol, the Redis client, the stream reads)."""
    table = Table(title=f"Replicas, end to end (POST → stored), {cpus} CPUs")
    for column in ("setup", "articles/s: median", "min–max", "vs one server",
                   "dedupe CPU ms/article", "growth", "of it text work", "growth",
                   "the rest", "growth", "all services CPU ms/article",
                   "Redis commands/article"):  # fmt: skip
        table.add_column(column, justify="left" if column == "setup" else "right")
    first = statistics.median(points[0].rates)
    one = _cpu_split(points[base] if len(points) > base else points[0])
    for point in points:
        rate = statistics.median(point.rates)
        cpu_cells = []
        for ms, against in zip(_cpu_split(point), one, strict=True):
            cpu_cells += [f"{ms:.2f}", f"{ms / against:.2f}×"]
        table.add_row(
            point.label, f"{rate:.0f}", f"{min(point.rates):.0f}–{max(point.rates):.0f}",
            f"{rate / first:.2f}×", *cpu_cells,
            f"{statistics.median(point.all_cpu_ms):.2f}",
            f"{statistics.median(point.commands):.1f}",
        )  # fmt: skip
    return table


def _cpu_split(point: Point) -> tuple[float, float, float]:
    """Medians of the dedupe CPU ms per article: all of it, its text work, the rest."""
    rest = [cpu - text for cpu, text in zip(point.dedupe_cpu_ms, point.text_work_ms, strict=True)]
    median = statistics.median
    return median(point.dedupe_cpu_ms), median(point.text_work_ms), median(rest)
