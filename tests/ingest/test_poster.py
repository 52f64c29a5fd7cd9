"""The CLI's poster waits out an overloaded API instead of dropping articles."""

import httpx

from services.poster import _post


def test_a_503_with_retry_after_is_retried_until_accepted() -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": "0"}), httpx.Response(202)])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return next(answers)

    with httpx.Client(transport=httpx.MockTransport(handler), base_url="http://ingest") as client:
        response = _post(client, "/articles/batch", [{"text": "x"}])
    assert (response.status_code, seen) == (202, ["/articles/batch", "/articles/batch"])
