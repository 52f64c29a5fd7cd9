"""The throughput benchmark: its contenders judge alike, and every stage measures what it says."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.corpus import Doc, load_seeds
from benchmarks.scale import measure_scale
from benchmarks.scaleout import measure_scaleout
from benchmarks.stages import article_bodies, settings_for, stack
from benchmarks.throughput import (
    Core,
    JudgeAlone,
    Judging,
    NaiveIndex,
    measure,
    measure_alternately,
    raw_articles,
    service_rows,
    text_work,
)
from shared.settings import Settings

SEEDS = load_seeds()
COPIES = [Doc(f"{d.key}/copy", "Quelle: dpa\n" + d.text, None, "copy") for d in SEEDS]
ARTICLES = raw_articles(SEEDS + COPIES)


def test_the_core_finds_each_copy_and_no_seed_as_a_duplicate() -> None:
    index = Core(Settings())
    assert [index.judge_one(a) for a in ARTICLES] == [False] * 5 + [True] * 5


def test_the_judge_alone_on_features_worked_out_before_judges_as_the_core() -> None:
    work = text_work(ARTICLES, Settings(), runs=2)
    index = JudgeAlone(Settings(), work.prepared)
    assert [index.judge_one(a) for a in ARTICLES] == [False] * 5 + [True] * 5
    assert len(work.ms) == 2 and min(work.ms) > 0
    assert len(work.story_terms_ms) == 2 and all(work.story_terms_ms)


def test_the_judge_alone_counts_time_placing_stories_only_for_canonical_articles() -> None:
    work = text_work(ARTICLES, Settings(), runs=1)
    index = JudgeAlone(Settings(), work.prepared)
    for article in ARTICLES[:5]:  # the seeds: canonical, each placed in a story
        index.judge_one(article)
    placed = index.judge.placing_s
    assert placed > 0
    for article in ARTICLES[5:]:  # their copies: duplicates, in their canonical's story
        index.judge_one(article)
    assert index.judge.placing_s == placed


def test_the_naive_baseline_finds_each_copy_and_no_seed_as_a_duplicate() -> None:
    index = NaiveIndex(Settings())
    assert [index.judge_one(a) for a in ARTICLES] == [False] * 5 + [True] * 5


def test_measure_reports_one_rate_per_run_and_the_duplicates_found() -> None:
    measured = measure(lambda: Core(Settings()), ARTICLES, runs=2)
    assert len(measured.rates) == 2 and min(measured.rates) > 0
    assert measured.duplicates == 5


def test_measuring_alternately_gives_each_contender_its_runs_and_duplicates() -> None:
    makers: list[Callable[[], Judging]] = [
        lambda: Core(Settings()), lambda: NaiveIndex(Settings()),
    ]  # fmt: skip
    ours, naive = measure_alternately(makers, ARTICLES, runs=3)
    assert len(ours.rates) == len(naive.rates) == 3
    assert ours.duplicates == naive.duplicates == 5


def test_every_service_stage_takes_all_articles_through_real_processes() -> None:
    docs = SEEDS + COPIES + [Doc(f"{d.key}/again", d.text, None, "again") for d in SEEDS]
    rows, latencies = service_rows(docs, runs=1, concurrency=2)
    assert [row.stage.split(" ")[0] for row in rows] == ["(b)", "(c)", "(c)", "(d)", "end"]
    assert all(len(row.ours) == len(row.baseline) == 1 for row in rows)
    assert all(row.ours[0] > 0 and row.baseline[0] > 0 for row in rows)
    assert float(rows[0].note.rsplit("Redis server ", 1)[1]) > 0  # the index's scripts' share
    [latency] = latencies
    assert 0 < latency.p50_ms <= latency.p95_ms <= latency.p99_ms


def test_the_scale_stage_fills_the_judge_and_a_new_judge_takes_over_from_snapshot_and_journal(
    tmp_path: Path,
) -> None:
    settings = Settings(judge_replay_seconds=0.5)
    [point] = measure_scale([500], settings, tmp_path, runs=2, seed=1)
    assert (point.indexed, len(point.judge_us)) == (500, 2)
    # At least its 440 word hashes and 66 band and lead keys with their slots.
    assert point.snapshot_bytes_per_article > 2 * 440 + 66 * 12
    assert point.snapshot_s > 0 and point.takeover_s > 0
    assert point.replayed >= settings.batch_size  # a journal after the snapshot, replayed


def test_the_cluster_stage_measures_each_replica_count_beside_one_server_and_the_control() -> None:
    points = measure_scaleout(
        article_bodies(SEEDS + COPIES), [1, 2], runs=1, concurrency=2, independent=2
    )
    assert [p.label.split(",")[0] for p in points] == [
        "one Redis server", "3-master cluster", "3-master cluster",
        "control: 2 stacks of 1 replica at once",
    ]  # fmt: skip
    for point in points:
        assert len(point.rates) == len(point.dedupe_cpu_ms) == 1
        assert point.rates[0] > 0 and 0 < point.dedupe_cpu_ms[0] <= point.all_cpu_ms[0]
        # at least: the article onto the raw stream, into the index, its verdict onto its stream
        assert point.commands[0] >= 3
        assert 0 < point.text_work_ms[0] < point.dedupe_cpu_ms[0]


def test_a_stage_that_fails_prints_the_end_of_the_service_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(RuntimeError), stack(settings_for(tmp_path, "failing"), []) as running:
        running.log_dir.mkdir(parents=True, exist_ok=True)
        (running.log_dir / "dedupe.log").write_text("the last words\n")
        raise RuntimeError("the stage failed")
    assert "the last words" in capsys.readouterr().err
