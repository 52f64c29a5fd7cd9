"""Scale-out: end to end (POST → stored) with 1, 2 and 4 dedupe replicas on a real 3-master
Redis Cluster, the raw stream in 4 partitions, against one dedupe on one Redis server in the
same run.

On a machine with few cores the rate is bounded by the cores, not by the design; the dedupe CPU
time per article (all replicas together) is the figure that shows whether replicas add work.
CPU time also varies with how busy the machine is, so the Redis commands per article (every
service's, counted by the servers) are printed beside it: work that does not.
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
from benchmarks.cores import text_work_cpu_ms
from shared.cluster import EmbeddedCluster

PARTITIONS = 4


@dataclass
class Point:
    label: str
    rates: list[float] = field(default_factory=list)  # articles per second, one per run
    dedupe_cpu_ms: list[float] = field(default_factory=list)  # per article, all replicas
    all_cpu_ms: list[float] = field(default_factory=list)  # per article, every service
    commands: list[float] = field(default_factory=list)  # Redis commands per article, all services
    # The same text work in as many processes at once, CPU ms per article (``benchmarks.cores``)
    text_work_ms: list[float] = field(default_factory=list)

    def record(self, count: int, every: stages.Timed, dedupe: stages.Timed) -> None:
        self.rates.append(every.rate(count))
        self.dedupe_cpu_ms.append(dedupe.cpu_seconds / count * 1000)
        self.all_cpu_ms.append(every.cpu_seconds / count * 1000)
        self.commands.append(every.redis_commands / count)


def measure_scaleout(
    bodies: Sequence[dict[str, Any]], replicas: Sequence[int], runs: int, concurrency: int
) -> list[Point]:
    """The baseline (one server, one replica) first, then each replica count on the cluster."""
    baseline = Point("one Redis server, 1 replica, 1 partition")
    texts = [(b["text"], b["title"]) for b in bodies]
    points = [Point(f"3-master cluster, {n} replica{'s' if n > 1 else ''}, "
                    f"{PARTITIONS} partitions") for n in replicas]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="newsdedup-scaleout-") as tmp:
        root = Path(tmp)
        for run in range(runs):
            single = stages.settings_for(root, f"single-{run}")
            baseline.record(
                len(bodies), *stages.end_to_end_replicas(single, bodies, concurrency, 1)
            )
            baseline.text_work_ms.append(text_work_cpu_ms(texts, 1))
            with EmbeddedCluster(root / f"cluster-{run}") as cluster:
                for n, point in zip(replicas, points, strict=True):
                    settings = stages.settings_for(root, f"cluster{n}-{run}").model_copy(
                        update={"redis_url": cluster.url, "partitions": PARTITIONS}
                    )
                    measured = stages.end_to_end_replicas(settings, bodies, concurrency, n)
                    point.record(len(bodies), *measured)
                    point.text_work_ms.append(text_work_cpu_ms(texts, n))
    return [baseline, *points]


def scaleout_table(points: Sequence[Point], cpus: int | None) -> Table:
    """Growth is against the first cluster row (one replica): the dedupe CPU per article, and
    the same text work's in as many processes as replicas (what sharing the cores costs)."""
    table = Table(title=f"Scale-out, end to end (POST → stored), {cpus} CPUs")
    for column in ("setup", "articles/s: median", "min–max", "vs one server",
                   "dedupe CPU ms/article", "growth", "text work in as many processes: growth",
                   "all services CPU ms/article", "Redis commands/article"):  # fmt: skip
        table.add_column(column, justify="left" if column == "setup" else "right")
    first = statistics.median(points[0].rates)
    one = points[1] if len(points) > 1 else points[0]
    one_cpu, one_text = (statistics.median(v) for v in (one.dedupe_cpu_ms, one.text_work_ms))
    for point in points:
        rate = statistics.median(point.rates)
        cpu, text = (statistics.median(v) for v in (point.dedupe_cpu_ms, point.text_work_ms))
        table.add_row(
            point.label, f"{rate:.0f}", f"{min(point.rates):.0f}–{max(point.rates):.0f}",
            f"{rate / first:.2f}×", f"{cpu:.2f}", f"{cpu / one_cpu:.2f}×",
            f"{text / one_text:.2f}×", f"{statistics.median(point.all_cpu_ms):.2f}",
            f"{statistics.median(point.commands):.0f}",
        )  # fmt: skip
    return table
