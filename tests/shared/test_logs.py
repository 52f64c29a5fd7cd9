"""Structured logs: one JSON object per line, with the fields the code attached."""

import json
import logging

from shared.logs import JsonFormatter


def test_a_json_line_carries_the_article_id() -> None:
    record = logging.LogRecord(
        "newsdedup.ingest", logging.INFO, __file__, 1, "accepted", None, None
    )
    record.article_id = "01JM2ABC"
    entry = json.loads(JsonFormatter().format(record))
    assert (entry["msg"], entry["article_id"], entry["level"]) == ("accepted", "01JM2ABC", "INFO")
