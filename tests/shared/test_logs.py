"""Structured logs: one JSON object per line, with the fields the code attached."""

import json
import logging

from shared.logs import JsonFormatter, TextFormatter


def test_a_json_line_carries_the_article_id() -> None:
    record = logging.LogRecord(
        "newsdedup.ingest", logging.INFO, __file__, 1, "accepted", None, None
    )
    record.article_id = "01JM2ABC"
    entry = json.loads(JsonFormatter().format(record))
    assert (entry["msg"], entry["article_id"], entry["level"]) == ("accepted", "01JM2ABC", "INFO")


def test_uvicorns_coloured_copy_of_a_message_stays_out_of_text_and_json_lines() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, "Started server process [%d]", (42,), None
    )
    record.color_message = "Started server process [\x1b[36m%d\x1b[0m]"
    text = TextFormatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert text == "INFO uvicorn.error: Started server process [42]"
    assert "color_message" not in json.loads(JsonFormatter().format(record))
