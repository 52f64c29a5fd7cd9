"""Schemathesis against the running ingest and store services: no generated request gets a 500.

The schemas come from the apps themselves; the requests go over HTTP to the real processes
(``Stack``), which enqueue, deduplicate and store whatever they accept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from services.cli.stack import Stack
from services.ingest.app import create_app as ingest_app
from services.store.app import create_app as store_app
from shared.settings import Settings
from tests.conftest import isolated_settings

_SCHEMA_ONLY = Settings(redis_url="redis://127.0.0.1:1/0")  # building a schema connects nowhere
INGEST = schemathesis.openapi.from_dict(ingest_app(_SCHEMA_ONLY).openapi())
STORE = schemathesis.openapi.from_dict(store_app(_SCHEMA_ONLY).openapi())
STATUSES: Counter[tuple[str, int]] = Counter()
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("fuzz") / "data"
    with Stack(isolated_settings(redis_url, data, ingest_port=0, store_port=0)) as running:
        yield running
    # Printed with -s; the closing note quotes these figures.
    print("\nschemathesis responses by service and status:", dict(sorted(STATUSES.items())))


def _check(stack: Stack, service: str, case: schemathesis.Case) -> None:
    response = case.call(base_url=stack.url(service), timeout=30)
    STATUSES[(service, response.status_code)] += 1
    case.validate_response(response, checks=[not_a_server_error])


@INGEST.parametrize()
@FUZZ
def test_ingest_never_answers_500(stack: Stack, case: schemathesis.Case) -> None:
    _check(stack, "ingest", case)


@STORE.parametrize()
@FUZZ
def test_store_never_answers_500(stack: Stack, case: schemathesis.Case) -> None:
    _check(stack, "store", case)
