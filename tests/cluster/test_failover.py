"""A master of the cluster dies mid-run: its replica takes over, and nothing accepted is lost."""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.cluster import EmbeddedCluster
from services.cli.stack import Stack
from shared.models import DeadLetter
from shared.redis import sync_client
from shared.streams import decode
from tests.conftest import isolated_settings
from tests.faults.load import corpus, published, stored, stored_count
from tests.faults.test_outages import Background
from tests.waiting import wait_until

COUNT = 3000


def test_a_master_killed_mid_run_is_replaced_and_every_accepted_article_is_stored_once(
    tmp_path: Path,
) -> None:
    with EmbeddedCluster(tmp_path / "cluster", replicas=1) as cluster:
        # A small backlog limit keeps ingest answering 503 while dedupe catches up, so posting
        # goes on for the whole run, through the failover.
        settings = isolated_settings(
            cluster.url, tmp_path / "data", ingest_port=0, store_port=0, partitions=4,
            wait_replicas=1, max_backlog=400,
        )  # fmt: skip
        with Stack(settings) as stack:
            sending = Background(stack, corpus(COUNT, seed=11))
            wait_until(lambda: len(sending.posted.ids), lambda n: n >= COUNT // 3, timeout=120)
            victim = cluster.master_of(settings.stream_canonical)
            accepted, refused = len(sending.posted.ids), sending.posted.refused
            cluster.kill(victim)
            killed_at = time.monotonic()
            wait_until(lambda: cluster.master_of(settings.stream_canonical),
                       lambda node: node is not victim, timeout=60)  # fmt: skip
            cluster.wait_healthy()
            failover = time.monotonic() - killed_at
            in_window = len(sending.posted.ids) - accepted
            refused_in_window = sending.posted.refused - refused
            posted = sending.join()
            wait_until(lambda: stored_count(stack), lambda n: n >= len(posted.ids), timeout=240)
            rows = stored(stack)
            republished = sum(n - 1 for n in published(stack).values())
            client = sync_client(cluster.url)
            letters = [decode(DeadLetter, f) for _, f in client.xrange(settings.stream_dead)]
            client.close()
    print(
        f"\nfailover: a replica took over {failover:.1f} s after the kill; accepted "
        f"{len(posted.ids)} in all, {in_window} within the failover window; clients saw "
        f"{posted.refused} 503 answers ({refused_in_window} in the window) and "
        f"{posted.unreachable} connection errors; {republished} verdicts published twice"
    )
    assert len(posted.ids) == COUNT
    assert sorted(rows) == sorted(posted.ids)  # every accepted article, each stored once
    assert letters == []
