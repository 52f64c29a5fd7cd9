"""The stack on a Docker engine, brought up and down with the README's compose commands.

One stack serves the module, and its tests run in file order as a user's day does: up with
three dedupe replicas, the seeds and their copies, 2,000 news-like articles with the judging
container killed, Redis restarted under load, stop and up again, down. Each test states what
must hold at its step. Without an engine (and without root to start one) the module skips and
says why; with CI=true it fails instead.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from benchmarks.shared_text import templated
from services.cli.demo import demo_articles
from tests.compose import readme
from tests.compose.engine import Engine
from tests.compose.stack import ComposeStack, Posting, user_stack
from tests.waiting import wait_until

# Building the images (and the stand-in bases, where none can be pulled) happens in the first
# test's setup, which takes minutes on a loaded machine.
pytestmark = pytest.mark.timeout(900)

HEALTHY = {
    "dedupe": ["healthy"] * 3,
    "ingest": ["healthy"],
    "postgres": ["healthy"],
    "redis": ["healthy"],
    "store": ["healthy"],
}
NEWS = templated(2000, seed=39)  # football reports, 30% of them edited copies of earlier ones


@pytest.fixture(scope="module")
def stack(
    engine: Engine, images: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComposeStack]:
    with user_stack(engine, images, tmp_path_factory.mktemp("compose")) as running:
        yield running


def _judge(stack: ComposeStack) -> str:
    """The dedupe container holding the judge's lease (its value is ``token:hostname-pid``)."""
    keys = stack.redis_cli("--scan", "--pattern", "*:judge:*:lease").split()
    holder = stack.redis_cli("get", keys[0]).strip().split(":", 1)[1]
    for container in stack.containers("dedupe"):
        if stack.inspect(container)["Config"]["Hostname"] == holder.rsplit("-", 1)[0]:
            return container
    raise AssertionError(f"no running dedupe container holds the lease ({holder})")


def _verdicts(stack: ComposeStack) -> Counter[str]:
    """How often each article id is on the verdict streams, read with ``newsdedup tail``."""
    counts: Counter[str] = Counter()
    for stream in ("canonical", "duplicates"):
        length = int(stack.redis_cli("xlen", f"articles:{stream}"))
        if length:
            out = stack.run(
                f"docker compose exec -T ingest newsdedup tail {stream} --from-start "
                f"--count {length}"
            )
            counts.update(json.loads(line)["id"] for line in out.splitlines())
    return counts


def _all_stored(stack: ComposeStack, count: int) -> None:
    wait_until(stack.stored_count, lambda n: n >= count, timeout=600)


def test_the_readme_shows_the_commands_the_compose_tests_run() -> None:
    assert readme.compose_commands() == readme.IN_ORDER


def test_up_builds_and_every_container_becomes_healthy_with_three_dedupe_replicas(
    stack: ComposeStack,
) -> None:
    stack.run(readme.UP)
    assert wait_until(stack.health, lambda health: health == HEALTHY, timeout=300) == HEALTHY
    listed = stack.run(readme.PS)
    assert listed.count("(healthy)") == 7, listed


def test_the_image_runs_as_an_unprivileged_user_with_no_compiler(stack: ComposeStack) -> None:
    image = stack.inspect(stack.containers("ingest")[0])["Config"]
    assert image["User"] == "newsdedup"
    found = stack.run(
        "docker compose exec -T ingest sh -c 'for c in gcc cc make; do command -v $c; done; true'"
    )
    assert found.strip() == ""


def test_the_seeds_and_their_republished_copies_are_judged_and_stored(
    stack: ComposeStack,
) -> None:
    ids = stack.post(demo_articles())  # 5 seeds, then a republished and an exact copy of each
    _all_stored(stack, len(ids))
    rows = stack.stored()
    seeds = ids[:5]
    assert [rows[i]["status"] for i in seeds] == ["canonical"] * 5
    assert len({rows[i]["story_id"] for i in seeds}) == 1
    for n, seed in enumerate(seeds):
        assert rows[ids[5 + 2 * n]]["canonical_id"] == seed
        assert (rows[ids[6 + 2 * n]]["canonical_id"], rows[ids[6 + 2 * n]]["reason"]) == (
            seed, "exact",
        )  # fmt: skip
    tailed = [json.loads(line) for line in stack.run(readme.TAIL).splitlines()]
    assert [verdict["id"] for verdict in tailed] == seeds


def test_killing_the_judging_container_mid_run_stores_every_article_once(
    stack: ComposeStack,
) -> None:
    before = stack.stored_count()
    posting = Posting(stack, [
        {"text": doc.text, "url": doc.url, "source": doc.source} for doc in NEWS
    ])  # fmt: skip
    wait_until(stack.stored_count, lambda n: n >= before + 300, timeout=300)
    judge = _judge(stack)
    stack.engine.docker("kill", judge)
    assert stack.stored_count() < before + len(NEWS)  # killed mid-run
    ids = posting.join()
    _all_stored(stack, before + len(ids))
    assert _judge(stack) != judge  # another replica took the lease over

    rows = stack.stored()
    assert len(rows) == before + len(NEWS)
    assert set(ids) <= set(rows)
    verdicts = _verdicts(stack)
    assert set(verdicts) == set(rows)
    assert max(verdicts.values()) == 1  # no verdict published twice
    copies = [i for i, doc in zip(ids, NEWS, strict=True) if doc.base]
    originals = [i for i, doc in zip(ids, NEWS, strict=True) if not doc.base]
    found = sum(rows[i]["status"] == "duplicate" for i in copies) / len(copies)
    kept = sum(rows[i]["status"] == "canonical" for i in originals) / len(originals)
    assert (found >= 0.95, kept >= 0.95) == (True, True), (found, kept)

    stack.engine.docker("start", judge)  # as the engine restarts a container that crashed
    assert wait_until(stack.health, lambda health: health == HEALTHY, timeout=300) == HEALTHY


def test_restarting_redis_mid_run_loses_nothing_and_the_services_reconnect(
    stack: ComposeStack,
) -> None:
    before = stack.stored_count()
    bodies = [
        {"text": f"{doc.text} Replay {n}.", "source": "replay"} for n, doc in enumerate(NEWS[:1500])
    ]
    posting = Posting(stack, bodies)
    wait_until(stack.stored_count, lambda n: n >= before + 100, timeout=300)
    stack.run("docker compose restart redis")
    assert stack.stored_count() < before + len(bodies)  # restarted mid-run
    ids = posting.join()
    _all_stored(stack, before + len(ids))
    assert len(ids) == len(bodies)
    rows = stack.stored()
    assert set(ids) <= set(rows) and len(rows) == before + len(bodies)
    assert max(_verdicts(stack).values()) == 1
    assert wait_until(stack.health, lambda health: health == HEALTHY, timeout=300) == HEALTHY


def test_the_dead_letter_stream_is_empty(stack: ComposeStack) -> None:
    assert stack.run(readme.DEAD) == ""  # one line per dead letter; the count goes to stderr


def test_stop_drains_every_service_and_up_finds_the_data_kept(stack: ComposeStack) -> None:
    stored = stack.stored_count()
    stack.run(readme.STOP)
    for container in stack.containers(every=True):
        info = stack.inspect(container)
        state = (info["Name"], info["State"]["Status"], info["State"]["ExitCode"])
        logs = stack.engine.docker("logs", "--tail", "20", container)  # shown when it fails
        assert state == (info["Name"], "exited", 0), logs  # not killed after the grace period
    stack.run(readme.UP)
    wait_until(stack.health, lambda health: health == HEALTHY, timeout=300)
    assert stack.stored_count() == stored
    assert sum(_verdicts(stack).values()) == stored
    ids = stack.post([{"text": "A story told after the restart, " * 8, "source": "after"}])
    _all_stored(stack, stored + 1)
    assert stack.stored()[ids[0]]["status"] == "canonical"


def test_down_removes_every_container_network_and_volume(stack: ComposeStack) -> None:
    stack.run(readme.DOWN)
    label = f"label=com.docker.compose.project={stack.project}"
    assert stack.containers(every=True) == []
    assert stack.engine.docker("network", "ls", "-q", "--filter", label).split() == []
    assert stack.engine.docker("volume", "ls", "-q", "--filter", label).split() == []
