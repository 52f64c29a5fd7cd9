"""Poison messages among good ones: parked on the dead stream with their error; the stream
keeps flowing and every good article is stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import redis

from services.cli.stack import Stack
from shared.models import DeadLetter
from shared.streams import DATA_FIELD, decode
from tests.conftest import isolated_settings
from tests.faults.load import corpus, post_all, stored, stored_count
from tests.waiting import wait_until

COUNT = 1000


def test_poison_messages_are_dead_lettered_and_the_good_ones_stored(tmp_path: Path) -> None:
    bodies = corpus(COUNT, seed=13)
    settings = isolated_settings(None, tmp_path / "data", ingest_port=0, store_port=0)
    with Stack(settings) as stack:
        assert stack.redis_url
        client = redis.Redis.from_url(stack.redis_url)
        posted = post_all(stack, bodies[: COUNT // 2])
        # Written straight to the stream by some other producer, bypassing ingest's checks.
        not_json = client.xadd(settings.stream_raw, {DATA_FIELD: b"\x93\xffnot json"})
        bad_id = {
            "id": "not-a-ulid",
            "text": "Gespraeche in Riad",
            "ingested_at": datetime.now(UTC).isoformat(),
            "content_sha256": "0" * 64,
        }
        wrong = client.xadd(settings.stream_raw, {DATA_FIELD: json.dumps(bad_id).encode()})
        posted.ids += post_all(stack, bodies[COUNT // 2 :]).ids

        wait_until(lambda: stored_count(stack), lambda n: n >= COUNT, timeout=120)
        # The text work parks them, after its retries; the judge does not wait for that.
        wait_until(lambda: client.xlen(settings.stream_dead), lambda n: n >= 2, timeout=60)
        letters = [decode(DeadLetter, f) for _, f in client.xrange(settings.stream_dead)]
        client.close()
        assert sorted(stored(stack)) == sorted(posted.ids)
    by_entry = {letter.message_id: letter for letter in letters}
    assert sorted(by_entry) == sorted([not_json.decode(), wrong.decode()])
    assert "invalid payload" in by_entry[not_json.decode()].error
    assert "id" in by_entry[wrong.decode()].error and "pattern" in by_entry[wrong.decode()].error
    print(f"\npoison: {COUNT} good stored, {len(letters)} dead-lettered: "
          + " | ".join(" ".join(letter.error.split())[:120] for letter in letters))  # fmt: skip
