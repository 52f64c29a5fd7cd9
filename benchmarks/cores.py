"""What sharing the cores costs by itself: the same text work split over n processes at once.

The scale-out stage runs n dedupe replicas on a machine with few cores. A CPU-bound process that
shares a core with others is switched out and back, and finds its caches taken by the others,
so the same work costs it more CPU time than it would alone. This control measures that with
work that has no protocol in it at all: each of n processes (started fresh, as replicas are)
computes the features and term counts of its share of the articles, all at once. Its CPU time
per article against one process's is the machine's own growth, next to which the replicas'
growth is read.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from services.dedupe.app import signer_for
from services.dedupe.features import features
from services.dedupe.terms import term_counts
from shared.settings import Settings

Text = tuple[str, str | None]  # an article's text and title


def _work(texts: Sequence[Text], start: Barrier, done: Queue[float]) -> None:
    """Put the CPU seconds this process spends on its texts, counted from when all may start."""
    signer = signer_for(Settings())
    start.wait()
    began = time.process_time()
    for text, title in texts:
        features(text, None, signer, set())
        term_counts(text, title)
    done.put(time.process_time() - began)


def text_work_cpu_ms(texts: Sequence[Text], processes: int) -> float:
    """CPU milliseconds per article of the dedupe text work, with ``texts`` dealt out over
    ``processes`` fresh processes that run at the same time."""
    context = multiprocessing.get_context("spawn")
    start, done = context.Barrier(processes), context.Queue()
    workers = [
        context.Process(target=_work, args=(list(texts[n::processes]), start, done))
        for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    seconds: float = sum(done.get(timeout=600) for _ in workers)
    for worker in workers:
        worker.join()
    return seconds / len(texts) * 1000
