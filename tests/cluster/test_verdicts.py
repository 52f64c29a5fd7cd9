"""The judge on a Redis Cluster judges as it does on one server."""

from __future__ import annotations

import asyncio
from pathlib import Path

from benchmarks.accuracy import judge_all
from benchmarks.corpus import build, load_seeds
from tests.conftest import isolated_settings


def test_the_accuracy_corpus_gets_the_same_verdicts_on_a_cluster_as_on_one_server(
    redis_url: str, cluster_url: str, tmp_path: Path
) -> None:
    corpus = build(load_seeds(), 4, seed=3)  # the seeds, and 4 copies per transformation

    def verdicts(url: str) -> dict[str, tuple[str, str, str]]:
        settings = isolated_settings(url, tmp_path)
        judged, _ = asyncio.run(judge_all(corpus.docs, settings))
        return {k: (v.status, v.canonical_id, v.story_id) for k, v in judged.items()}

    on_one_server = verdicts(redis_url)
    on_a_cluster = verdicts(cluster_url)
    assert len(on_one_server) == len(corpus.docs)
    duplicates = sum(1 for status, _, _ in on_one_server.values() if status == "duplicate")
    assert duplicates >= len(corpus.docs) - len(load_seeds()) - 4  # the copies were found
    assert on_a_cluster == on_one_server
