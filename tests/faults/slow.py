"""A judge slower than its lease, for the tests that inject one: it is imported by name in the
fold's process, so it lives in a module of its own."""

from __future__ import annotations

import time
from typing import Any

from services.dedupe.judge.judge import Article, Judge, Judged

SECONDS_PER_ARTICLE = 0.3  # a batch of 10 takes three times the tests' 1-second lease


class SlowJudge(Judge):
    """Judges as the judge does, taking ``SECONDS_PER_ARTICLE`` more for every article (a
    replay too: a restore is as slow as the judging was)."""

    def judge(self, article: Article, features: Any, refeature: Any = None) -> Judged:
        time.sleep(SECONDS_PER_ARTICLE)
        return super().judge(article, features, refeature)
