"""The README's commands as a user runs them: `newsdedup demo` and `newsdedup up`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import httpx
import redis

from shared.embedded import free_port
from shared.models import DeadLetter, RawArticle
from shared.settings import Settings, settings_env
from shared.streams import decode, encode
from tests.conftest import ROOT
from tests.factories import raw_article, verdict
from tests.waiting import wait_until

CLI = [sys.executable, "-m", "services.cli.main"]


def _env_without_servers() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}


def test_demo_run_from_another_folder_reads_at_80_columns(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "demo"], cwd=tmp_path, capture_output=True, text=True, timeout=180,
        env={**_env_without_servers(), "COLUMNS": "80"}, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "5 canonical, 10 duplicates, 1 story" in result.stdout
    assert "http://" not in result.stdout  # no address that dies with the demo
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if "│" in line]
    canonical = [row for row in cells if row[3] == "canonical"]
    copies = [row for row in cells if row[0].startswith("└ copy of")]
    # Each seed by its own first words (never a scraped header); each id told apart.
    assert [row[0].split()[0] for row in canonical] == ["Die", "USA", "Die", "USA", "„Tolle"]
    assert len({row[1] for row in canonical + copies}) == 15
    # Each seed's aggregator copy is exact; its regional copy differs only in furniture and
    # layout, which normalisation removes, so it is exact or (where some furniture stays) near.
    assert len(copies) == 10 and all(row[3] in ("exact", "near (jaccard)") for row in copies)
    assert sum(row[3] == "exact" for row in copies) >= 5
    assert "near: a different text" in " ".join(result.stdout.split())  # what verdicts mean


def test_version_names_the_installed_package() -> None:
    result = subprocess.run([*CLI, "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"newsdedup, version {version('newsdedup')}"


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_up_runs_the_stack_on_embedded_redis_and_stops_on_sigterm(tmp_path: Path) -> None:
    ingest, store = free_port(), free_port()
    process = subprocess.Popen(
        [*CLI, "up", "--ingest-port", str(ingest), "--store-port", str(store),
         "--data-dir", str(tmp_path / "data")],
        cwd=ROOT, env=_env_without_servers(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_until(lambda: _ok(f"http://127.0.0.1:{store}/health"), bool, timeout=60)
        wait_until(lambda: _ok(f"http://127.0.0.1:{ingest}/health"), bool, timeout=30)
        posted = httpx.post(f"http://127.0.0.1:{ingest}/articles", json={"text": "Hallo"})
        article_url = f"http://127.0.0.1:{store}/articles/{posted.json()['id']}"
        stored = wait_until(lambda: httpx.get(article_url), lambda r: r.status_code == 200)
        assert stored.json()["status"] == "canonical"
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-2000:]
    assert f"http://127.0.0.1:{ingest}" in out and "(embedded)" in out
    assert (tmp_path / "data" / "store.db").exists()
    assert (tmp_path / "data" / "redis" / "appendonly.aof").exists()


def _processes_with(env_entry: str) -> list[int]:
    """Processes whose environment holds ``env_entry``: a stack's services and its Redis."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if env_entry.encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def test_ctrl_c_while_up_starts_stops_everything_quietly(tmp_path: Path) -> None:
    # The terminal sends SIGINT to the whole process group: to `up` and to every service. Sent
    # as soon as the store (started first) answers, it finds `up` still starting the others.
    store = free_port()
    data_dir = f"NEWSDEDUP_DATA_DIR={tmp_path / 'data'}"
    process = subprocess.Popen(
        [*CLI, "up", "--ingest-port", str(free_port()), "--store-port", str(store)],
        cwd=ROOT, env={**_env_without_servers(), "NEWSDEDUP_DATA_DIR": str(tmp_path / "data")},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until(lambda: _ok(f"http://127.0.0.1:{store}/health"), bool, timeout=60)
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, err[-2000:]
    assert "Aborted" not in err and out.splitlines()[-1] == "stopped"
    assert _processes_with(data_dir) == []


def _run(*args: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_the_other_commands_find_the_stack_up_runs_from_the_data_dir(tmp_path: Path) -> None:
    ingest, store = free_port(), free_port()  # not the defaults: only the record can tell them
    env = {**_env_without_servers(), "NEWSDEDUP_DATA_DIR": str(tmp_path / "data")}
    env.pop("NEWSDEDUP_INGEST_PORT", None)
    process = subprocess.Popen(
        [*CLI, "up", "--ingest-port", str(ingest), "--store-port", str(store)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until(lambda: (tmp_path / "data" / "stack.json").exists(), bool, timeout=60)
        (tmp_path / "a.txt").write_text("Eine Meldung, gefunden ohne Adresse.", encoding="utf-8")
        posted = _run("ingest", str(tmp_path / "a.txt"), env=env)
        assert posted.returncode == 0, posted.stderr[-2000:]
        tailed = _run("tail", "canonical", "--from-start", "--count", "1", env=env)
        assert tailed.returncode == 0, tailed.stderr[-2000:]
        assert json.loads(tailed.stdout)["text"] == "Eine Meldung, gefunden ohne Adresse."
        listed = _run("dead", "list", env=env)
        assert (listed.returncode, listed.stderr.strip().splitlines()[-1].split()[0]) == (0, "0")
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-2000:]
    served = {line.split()[0]: line.split()[1] for line in out.splitlines()[:5]}
    assert served["ingest"] == f"http://127.0.0.1:{ingest}"
    assert served["store"] == f"http://127.0.0.1:{store}"
    assert served["dedupe"].startswith("http://127.0.0.1:") and "metrics /metrics" in out
    assert not (tmp_path / "data" / "stack.json").exists()  # gone with the stack
    after = _run("tail", "canonical", "--count", "1", env=env)
    assert after.returncode == 1
    [line] = after.stderr.strip().splitlines()
    assert "no stack runs from" in line and "newsdedup up" in line


def test_an_unreachable_redis_is_one_line_naming_it(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    for command in (["tail", "canonical", "--count", "1"], ["dead", "list"]):
        result = _run(*command, env={**_env_without_servers(), "REDIS_URL": url})
        assert result.returncode == 1
        [line] = result.stderr.strip().splitlines()
        assert f"cannot reach Redis at {url}" in line and "newsdedup up" in line


def _published(settings: Settings, count: int) -> list[str]:
    client = redis.Redis.from_url(settings.redis_url or "")
    ids = []
    for n in range(count):
        article = raw_article(f"Meldung {n}")
        client.xadd(settings.stream_canonical, encode(verdict(article)))
        ids.append(article.id)
    client.close()
    return ids


def _tail(settings: Settings, *args: str) -> list[dict[str, object]]:
    result = _run("tail", "canonical", *args, env={**os.environ, **settings_env(settings)})
    assert result.returncode == 0, result.stderr[-2000:]
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_tail_from_start_prints_each_verdict_as_a_json_line(settings: Settings) -> None:
    ids = _published(settings, 3)
    lines = _tail(settings, "--from-start", "--count", "3")
    assert [line["id"] for line in lines] == ids


def test_tail_through_a_group_resumes_after_what_it_acked(settings: Settings) -> None:
    ids = _published(settings, 3)
    first = _tail(settings, "--from-start", "--group", "jq", "--count", "2")
    second = _tail(settings, "--group", "jq", "--count", "1")
    assert [line["id"] for line in first + second] == ids


def _dead_letter(
    settings: Settings, client: redis.Redis, text: str, error: str = "RuntimeError('kaputt')"
) -> str:
    """A raw article parked on the dead stream as the consumer parks one; its article id."""
    article = raw_article(text)
    letter = DeadLetter(
        stream=settings.stream_raw, group="dedupe", message_id="1-0",
        payload=article.model_dump_json(), error=error, deliveries=5, failed_at=datetime.now(UTC),
    )  # fmt: skip
    client.xadd(settings.stream_dead, encode(letter))
    return article.id


def _dead(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return _run("dead", *args, env={**os.environ, **settings_env(settings)})


def test_dead_list_names_each_letter_its_article_and_error(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url or "")
    article_id = _dead_letter(settings, client, "Meldung")
    listed = _dead(settings, "list")
    client.close()
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    assert f"article={article_id}" in line
    assert "tries=5" in line
    assert "RuntimeError('kaputt')" in line
    assert "1 dead letter(s)" in listed.stderr


def test_dead_list_shows_a_long_error_of_many_lines_on_one_line_cut_between_words(
    settings: Settings,
) -> None:
    client = redis.Redis.from_url(settings.redis_url or "")
    error = "2 validation errors for RawArticle\ntext\n  " + "Feld fehlt und so weiter " * 20
    _dead_letter(settings, client, "Eins", error=error)
    _dead_letter(settings, client, "Zwei")
    listed = _dead(settings, "list")
    client.close()
    first, second = listed.stdout.splitlines()
    assert "2 validation errors for RawArticle text Feld fehlt" in first
    shown = first[first.index("2 validation errors") :]
    assert len(shown) <= 200 and shown.endswith(" …")
    assert shown.removesuffix(" …").rsplit(" ", 1)[1] in {"Feld", "fehlt", "und", "so", "weiter"}
    assert second.endswith("RuntimeError('kaputt')")


def test_dead_retry_requeues_the_payload_and_removes_the_letter(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url or "")
    kept = _dead_letter(settings, client, "bleibt")
    sent = _dead_letter(settings, client, "zurück")
    [kept_entry, sent_entry] = [e.decode() for e, _ in client.xrange(settings.stream_dead)]
    retried = _dead(settings, "retry", sent_entry)
    requeued = [decode(RawArticle, f).id for _, f in client.xrange(settings.stream_raw)]
    remaining = [decode(DeadLetter, f) for _, f in client.xrange(settings.stream_dead)]
    client.close()
    assert retried.returncode == 0, retried.stderr
    assert requeued == [sent]
    assert [json.loads(letter.payload)["id"] for letter in remaining] == [kept]
    assert kept_entry != sent_entry


def test_dead_retry_of_an_unknown_id_fails_and_changes_nothing(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url or "")
    _dead_letter(settings, client, "bleibt")
    retried = _dead(settings, "retry", "9-9")
    assert (client.xlen(settings.stream_dead), client.xlen(settings.stream_raw)) == (1, 0)
    client.close()
    assert retried.returncode == 1
    assert "no dead letter with id 9-9" in retried.stderr


def _status(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return _run("status", *args, env={**os.environ, **settings_env(settings)})


def test_status_says_how_far_behind_the_judge_is_and_that_no_one_judges(
    settings: Settings,
) -> None:
    client = redis.Redis.from_url(settings.redis_url or "")
    for group in ("dedupe", "judge"):
        client.xgroup_create(settings.stream_raw, group, id="0", mkstream=True)
    old = datetime.now(UTC).timestamp() * 1000 - 90_000  # waiting a minute and a half
    for n in range(3):
        client.xadd(
            settings.stream_raw, encode(raw_article(f"Meldung {n}")), id=f"{int(old) + n}-0"
        )
    _published(settings, 2)
    _dead_letter(settings, client, "Meldung")
    client.close()
    result = _status(settings, "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    status = json.loads(result.stdout)
    raw = status["streams"][settings.stream_raw]
    assert raw["length"] == 3
    assert raw["groups"]["judge"] == {"pending": 0, "waiting": 3}
    assert status["streams"][settings.stream_canonical]["length"] == 2
    assert status["streams"][settings.stream_dead]["length"] == 1
    judge = status["judge"]
    assert judge["holder"] is None and judge["entries_waiting"] == 3
    assert 90 <= judge["lag_seconds"] < 90 + 60
    assert judge["last_verdict_at"] is not None
    lines = _status(settings).stdout.splitlines()
    assert lines[0] == "streams"
    assert any(line.startswith("judge    lease free") for line in lines)
    assert any("lag 9" in line and "3 entries waiting" in line for line in lines)
    assert lines[-1].startswith("dead     1 dead letter(s)")


def test_status_of_an_unreachable_redis_is_one_line_naming_it() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = _run("status", env={**_env_without_servers(), "REDIS_URL": url})
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert f"cannot reach Redis at {url}" in line
