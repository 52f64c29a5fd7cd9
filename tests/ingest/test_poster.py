"""The CLI's poster waits out an overloaded API instead of dropping articles."""

import httpx
from rich.progress import Progress

from services.cli.poster import RateColumn, _post


def test_a_503_with_retry_after_is_retried_until_accepted() -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": "0"}), httpx.Response(202)])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return next(answers)

    with httpx.Client(transport=httpx.MockTransport(handler), base_url="http://ingest") as client:
        response = _post(client, "/articles/batch", [{"text": "x"}])
    assert (response.status_code, seen) == (202, ["/articles/batch", "/articles/batch"])


def test_the_rate_column_shows_articles_per_second_since_posting_began() -> None:
    clock = iter([0.0, 0.0, 2.0, 2.0, 2.0])  # started at 0 s; 100 posted by 2 s
    progress = Progress(RateColumn(), get_time=lambda: next(clock), auto_refresh=False)
    task_id = progress.add_task("post", total=200)
    progress.advance(task_id, 100)
    [task] = progress.tasks
    assert task.id == task_id
    assert RateColumn().render(task).plain == "50 articles/s"
