"""The CLI's poster waits out an overloaded API instead of dropping articles."""

import json
from pathlib import Path

import httpx
from rich.progress import Progress

from services.cli.poster import RateColumn, _post, post_files


def test_a_503_with_retry_after_is_retried_until_accepted() -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": "0"}), httpx.Response(202)])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return next(answers)

    with httpx.Client(transport=httpx.MockTransport(handler), base_url="http://ingest") as client:
        response = _post(client, "/articles/batch", [{"text": "x"}])
    assert (response.status_code, seen) == (202, ["/articles/batch", "/articles/batch"])


def test_a_retried_post_carries_the_idempotency_key_of_its_first_try() -> None:
    # A 503 can come after Redis took the articles in (its answer was lost); with the first
    # try's key the retry gets the first answer instead of enqueueing the articles again.
    busy = httpx.Response(503, headers={"Retry-After": "0"})
    answers = iter([busy, httpx.Response(202), httpx.Response(202)])
    keys: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers.get("Idempotency-Key"))
        return next(answers)

    with httpx.Client(transport=httpx.MockTransport(handler), base_url="http://ingest") as client:
        _post(client, "/articles/batch", [{"text": "x"}])
        first, again = keys
        _post(client, "/articles/batch", [{"text": "x"}])
    assert first and again == first
    assert keys[2] not in (None, first)  # another request, another key


def test_the_rate_column_shows_articles_per_second_since_posting_began() -> None:
    clock = iter([0.0, 0.0, 2.0, 2.0, 2.0])  # started at 0 s; 100 posted by 2 s
    progress = Progress(RateColumn(), get_time=lambda: next(clock), auto_refresh=False)
    task_id = progress.add_task("post", total=200)
    progress.advance(task_id, 100)
    [task] = progress.tasks
    assert task.id == task_id
    assert RateColumn().render(task).plain == "50 articles/s"


def test_the_bar_counts_every_line_of_a_file_a_bad_one_too(tmp_path: Path) -> None:
    lines = [
        '{"text": "eins"}',
        '{"text": "zwei"}',
        "not json",
        '{"text": "vier"}',
        '{"text": "5"}',
    ]
    (tmp_path / "articles.jsonl").write_text("\n".join(lines) + "\n")

    def handler(request: httpx.Request) -> httpx.Response:
        posted = json.loads(request.content)
        return httpx.Response(202, json={"ids": [f"id{n}" for n in range(len(posted))]})

    progress = Progress(disable=True)
    summary = post_files([tmp_path], "http://ingest", transport=httpx.MockTransport(handler),
                         progress=progress)  # fmt: skip
    [task] = progress.tasks
    assert (task.completed, task.total) == (5, 5)
    assert task.fields["rejected"] == 1
    assert (summary.accepted, summary.rejected) == (4, 1)
