"""The throughput benchmark's contenders judge alike: both find the copies of the seeds."""

from __future__ import annotations

from benchmarks.corpus import Doc, load_seeds
from benchmarks.throughput import CoreIndex, NaiveIndex, measure
from shared.settings import Settings

SEEDS = load_seeds()
COPIES = [Doc(f"{d.key}/copy", "Quelle: dpa\n" + d.text, None, "copy") for d in SEEDS]


def test_the_core_finds_each_copy_and_no_seed_as_a_duplicate() -> None:
    index = CoreIndex(Settings())
    assert [index.judge(d) for d in SEEDS + COPIES] == [False] * 5 + [True] * 5


def test_the_naive_baseline_finds_each_copy_and_no_seed_as_a_duplicate() -> None:
    index = NaiveIndex(Settings())
    assert [index.judge(d) for d in SEEDS + COPIES] == [False] * 5 + [True] * 5


def test_measure_reports_one_rate_per_run_and_the_duplicates_found() -> None:
    measured = measure(lambda: CoreIndex(Settings()), SEEDS + COPIES, runs=2)
    assert len(measured.rates) == 2 and min(measured.rates) > 0
    assert measured.duplicates == 5
