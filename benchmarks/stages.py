"""Stages (b)–(d) and end to end: the services as real processes on a real Redis and store.

Every run starts from nothing (a fresh embedded Redis and SQLite database under a temporary
directory, or fresh keys and streams on ``REDIS_URL``), starts the processes it measures, and
stops them. Each figure has its baseline measured the same way in the same run: a bare FastStream
pass-through of the same messages for the stream consumers (the queue's ceiling), a bare FastAPI
endpoint that only XADDs for ingest.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.corpus import Doc
from services.cli.stack import Stack
from shared.embedded import free_port
from shared.ids import new_id
from shared.models import RawArticle, Verdict
from shared.redis import is_cluster, sync_client
from shared.settings import Settings
from shared.streams import decode, encode

Fields = Any  # a stream entry's fields, as redis-py reads and writes them
WAIT_SECONDS = 600.0


@dataclass(frozen=True)
class Timed:
    seconds: float
    cpu_seconds: float  # of the process under test (0 where it is the client itself)
    redis_cpu_seconds: float = 0.0  # of the Redis server meanwhile, where measured
    redis_commands: int = 0  # the Redis server (every master of a cluster) ran, where counted
    text_work_seconds: float = 0.0  # CPU of the dedupe's per-article text work, where counted

    def rate(self, count: int) -> float:
        return count / self.seconds


def settings_for(root: Path, run: str) -> Settings:
    """Fresh state for one run: its own data directory, key prefix and stream names."""
    prefix = f"bench-{run}"
    return Settings(
        data_dir=root / run,
        redis_url=os.environ.get("REDIS_URL") or None,
        database_url=None,
        key_prefix=prefix,
        stream_raw=f"{prefix}:articles:raw",
        stream_canonical=f"{prefix}:articles:canonical",
        stream_duplicates=f"{prefix}:articles:duplicates",
        stream_dead=f"{prefix}:articles:dead",
        ingest_port=0,
        store_port=0,
    )


def wait_until(check: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached in {timeout:.0f} s")
        time.sleep(0.02)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live children so far (Linux /proc): the
    dedupe service's fold runs in a child of its own."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0  # ended meanwhile
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    kids = [
        int(kid)
        for task in Path(f"/proc/{pid}/task").glob("*/children")
        for kid in task.read_text().split()
    ]  # fmt: skip  (any thread's children)
    return own + sum(map(cpu_seconds, kids))


class Stopwatch:
    """Wall time from now, and the CPU time the processes under test spend meanwhile."""

    def __init__(self, *pids: int) -> None:
        self.pids = pids
        self.cpu = self._cpu()
        self.started = time.perf_counter()

    def _cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def stop(self) -> Timed:
        return Timed(time.perf_counter() - self.started, self._cpu() - self.cpu)


@contextmanager
def stack(settings: Settings, services: Sequence[str]) -> Iterator[Stack]:
    # The run's own SQLite file, even where the shell sets DATABASE_URL: rows already in a
    # database would count as stored before anything was.
    fresh_database = {"DATABASE_URL": settings.effective_database_url}
    running = Stack(settings, ingest_port=0, store_port=0, extra_env=fresh_database)
    try:
        running.start_redis()
        for service in services:
            running.start_service(service)
        yield running
    except BaseException:  # a timeout of the test runner too
        print(running.log_tails(), file=sys.stderr)
        raise
    finally:
        running.stop()


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        child = subprocess.Popen(args, env={**os.environ, **env}, stdout=out,
                                 stderr=subprocess.STDOUT)  # fmt: skip
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def xadd_all(client: redis.Redis, stream: str, payloads: Sequence[Fields]) -> None:
    for start in range(0, len(payloads), 500):
        with client.pipeline(transaction=False) as pipe:
            for fields in payloads[start : start + 500]:
                pipe.xadd(stream, fields)
            pipe.execute()


def _group_exists(client: redis.Redis, stream: str, group: str) -> bool:
    try:
        return any(g["name"].decode() == group for g in client.xinfo_groups(stream))
    except redis.ResponseError:
        return False  # no stream yet


def raw_payloads(docs: Sequence[Doc]) -> list[Fields]:
    """The raw articles ingest would put on the stream for ``docs``, ids in ingest order."""
    payloads = []
    for doc in docs:
        article = RawArticle(
            id=new_id(), url=doc.url, canonical_url=doc.url, title=doc.title, source=doc.source,
            ingested_at=datetime.now(UTC), text=doc.text, content_sha256="-",
        )  # fmt: skip
        payloads.append(dict(encode(article)))
    return payloads


# -- the queue's ceiling --------------------------------------------------------------------


def passthrough(settings: Settings, payloads: Sequence[Fields]) -> Timed:
    """A bare FastStream consumer moving the same messages through a group to another stream."""
    with stack(settings, []) as running:
        assert running.redis_url is not None
        client = redis.Redis.from_url(running.redis_url)
        source, target = f"{settings.key_prefix}:pass:in", f"{settings.key_prefix}:pass:out"
        env = {
            "REDIS_URL": running.redis_url,
            "PASSTHROUGH_IN": source,
            "PASSTHROUGH_OUT": target,
            "PASSTHROUGH_BATCH": str(settings.batch_size),
        }
        log = Path(settings.data_dir) / "logs" / "passthrough.log"
        with process([sys.executable, "-m", "benchmarks.passthrough"], env, log) as child:
            wait_until(lambda: _group_exists(client, source, "passthrough"), "pass-through up", 30)
            watch = Stopwatch(child.pid)
            xadd_all(client, source, payloads)
            wait_until(lambda: client.xlen(target) >= len(payloads), "all passed through")
            return watch.stop()


# -- (b) dedupe ------------------------------------------------------------------------------


def redis_cpu_seconds(client: redis.Redis) -> float:
    """The Redis server's user + system CPU time so far (``INFO cpu``)."""
    info: Any = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def redis_commands(client: redis.Redis) -> int:
    """Commands the Redis server, or every master of a cluster, has run so far (``INFO
    commandstats``): work that, unlike CPU time, does not vary with the machine's load."""
    if is_cluster(client):
        primaries: Any = redis.cluster.RedisCluster.PRIMARIES
        per_node: Any = client.info("commandstats", target_nodes=primaries)
        return sum(_calls(stats) for stats in per_node.values())
    return _calls(client.info("commandstats"))


def _calls(commandstats: Any) -> int:
    return sum(int(stats["calls"]) for stats in commandstats.values())


def _verdict_count(client: redis.Redis, settings: Settings) -> int:
    return int(client.xlen(settings.stream_canonical)) + int(
        client.xlen(settings.stream_duplicates)
    )


def dedupe(settings: Settings, payloads: Sequence[Fields]) -> tuple[Timed, list[Fields]]:
    """Raw articles in, verdicts out, through the dedupe service; and the verdicts. The Redis
    server's CPU time counts apart: the index's scripts run there."""
    with stack(settings, ["dedupe"]) as running:
        assert running.redis_url is not None
        client = redis.Redis.from_url(running.redis_url)
        watch = Stopwatch(running.processes["dedupe"].pid)
        redis_before = redis_cpu_seconds(client)
        xadd_all(client, settings.stream_raw, payloads)
        wait_until(lambda: _verdict_count(client, settings) >= len(payloads), "all verdicts")
        timed = replace(watch.stop(), redis_cpu_seconds=redis_cpu_seconds(client) - redis_before)
        verdicts: list[Fields] = []
        for stream in (settings.stream_canonical, settings.stream_duplicates):
            entries: Any = client.xrange(stream)
            verdicts.extend(fields for _, fields in entries)
        return timed, verdicts


# -- (c) ingest HTTP -------------------------------------------------------------------------


def article_bodies(docs: Sequence[Doc]) -> list[dict[str, Any]]:
    return [{"text": d.text, "title": d.title, "url": d.url, "source": d.source} for d in docs]


async def _post_all(
    base_url: str, bodies: Sequence[dict[str, Any]], batch: int, concurrency: int
) -> None:
    """POST every body (one per request, or ``batch`` per request to /articles/batch) from
    ``concurrency`` clients; a refused POST stops the run."""
    queue: asyncio.Queue[Sequence[dict[str, Any]]] = asyncio.Queue()
    for start in range(0, len(bodies), batch):
        queue.put_nowait(bodies[start : start + batch])

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            chunk = queue.get_nowait()
            if batch == 1:
                response = await http.post("/articles", json=chunk[0])
            else:
                response = await http.post("/articles/batch", json=list(chunk))
            response.raise_for_status()

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))


def post_all(base_url: str, bodies: Sequence[dict[str, Any]], batch: int, concurrency: int) -> None:
    asyncio.run(_post_all(base_url, bodies, batch, concurrency))


def ingest(
    settings: Settings, bodies: Sequence[dict[str, Any]], batch: int, concurrency: int
) -> Timed:
    with stack(settings, ["ingest"]) as running:
        watch = Stopwatch(running.processes["ingest"].pid)
        post_all(running.url("ingest"), bodies, batch, concurrency)
        return watch.stop()


def bare_ingest(
    settings: Settings, bodies: Sequence[dict[str, Any]], batch: int, concurrency: int
) -> Timed:
    with stack(settings, []) as running:
        assert running.redis_url is not None
        port = free_port()
        env = {"REDIS_URL": running.redis_url, "BARE_STREAM": f"{settings.key_prefix}:bare"}
        args = [sys.executable, "-m", "uvicorn", "benchmarks.bare_ingest:app",
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
        log = Path(settings.data_dir) / "logs" / "bare_ingest.log"
        with process(args, env, log) as child:
            url = f"http://127.0.0.1:{port}"
            wait_until(lambda: _healthy(url), "bare ingest up", 30)
            watch = Stopwatch(child.pid)
            post_all(url, bodies, batch, concurrency)
            return watch.stop()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


# -- (d) store -------------------------------------------------------------------------------


def stored_count(url: str) -> int:
    try:
        return int(httpx.get(url + "/stats", timeout=5).json()["articles"])
    except httpx.HTTPError:
        return -1


def store(settings: Settings, verdicts: Sequence[Fields]) -> Timed:
    """Verdicts in, rows committed, through the store service (the run's SQLite file)."""
    ordered = sorted(verdicts, key=lambda f: decode(Verdict, f).id)
    with stack(settings, ["store"]) as running:
        assert running.redis_url is not None
        client = redis.Redis.from_url(running.redis_url)
        watch = Stopwatch(running.processes["store"].pid)
        for fields in ordered:
            stream = (settings.stream_canonical
                      if decode(Verdict, fields).status == "canonical"
                      else settings.stream_duplicates)  # fmt: skip
            client.xadd(stream, fields)
        wait_until(lambda: stored_count(running.url("store")) >= len(ordered), "all stored")
        return watch.stop()


# -- end to end ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Latencies:
    p50_ms: float
    p95_ms: float
    p99_ms: float
    rate: float  # the paced posting rate it was measured at


def end_to_end(
    settings: Settings, bodies: Sequence[dict[str, Any]], concurrency: int, batch: int = 100
) -> Timed:
    """POST (``batch`` articles per request) to stored, all three services running."""
    every, _ = end_to_end_replicas(settings, bodies, concurrency, 1, batch=batch)
    return every


def naive_end_to_end(
    settings: Settings, bodies: Sequence[dict[str, Any]], concurrency: int, batch: int
) -> Timed:
    """The same load through the naive stack (``bare_ingest``, then ``naive_stack``): POST to
    stored in its SQLite."""
    with stack(settings, []) as running:
        assert running.redis_url is not None
        port, stream = free_port(), f"{settings.key_prefix}:naive"
        database = Path(settings.data_dir) / "naive.db"
        env = {"REDIS_URL": running.redis_url, "BARE_STREAM": stream, "NAIVE_DB": str(database)}
        logs = Path(settings.data_dir) / "logs"
        ingest_args = [sys.executable, "-m", "uvicorn", "benchmarks.bare_ingest:app", "--host",
                       "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
        consumer_args = [sys.executable, "-m", "benchmarks.naive_stack"]
        client = sync_client(running.redis_url)
        with (
            process(ingest_args, env, logs / "naive_ingest.log") as ingest_process,
            process(consumer_args, env, logs / "naive_consumer.log") as consumer,
        ):
            url = f"http://127.0.0.1:{port}"
            wait_until(lambda: _healthy(url), "naive ingest up", 30)
            wait_until(lambda: _group_exists(client, stream, "naive"), "naive consumer up", 30)
            watch = Stopwatch(ingest_process.pid, consumer.pid)
            redis_before = redis_cpu_seconds(client)
            post_all(url, bodies, batch, concurrency)

            def stored() -> int:
                with sqlite3.connect(database) as db:
                    return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])

            wait_until(lambda: stored() >= len(bodies), "naive stack stored all")
            timed = replace(
                watch.stop(), redis_cpu_seconds=redis_cpu_seconds(client) - redis_before
            )
            client.close()
            return timed


def end_to_end_replicas(
    settings: Settings,
    bodies: Sequence[dict[str, Any]],
    concurrency: int,
    replicas: int,
    warmup: Sequence[dict[str, Any]] = (),
    batch: int = 100,
) -> tuple[Timed, Timed]:
    """``end_to_end`` with ``replicas`` dedupe processes: the time with every service's CPU and
    the Redis commands they made, and with the dedupe replicas' CPU alone (and their text work's).

    ``warmup``: articles stored first, not measured. A process's first articles pay for what it
    keeps for the next ones (key names, term vocabulary, settled story members); a long-running
    replica has paid long since, and n fresh replicas would pay n times within the run.
    """
    with stack(settings, ["store", "ingest"]) as running:
        for replica in range(replicas):
            running.start_service("dedupe", replica=replica)
        if warmup:
            post_all(running.url("ingest"), warmup, 100, concurrency)
            wait_until(lambda: stored_count(running.url("store")) >= len(warmup), "warm-up stored")

        def store_all() -> None:
            post_all(running.url("ingest"), bodies, batch, concurrency)
            total = len(warmup) + len(bodies)
            wait_until(lambda: stored_count(running.url("store")) >= total, "all stored")

        return _measure([running], settings.cluster, store_all)


def end_to_end_independent(
    settings: Sequence[Settings],
    bodies: Sequence[dict[str, Any]],
    concurrency: int,
    warmup: Sequence[dict[str, Any]] = (),
) -> tuple[Timed, Timed]:
    """``end_to_end_replicas`` with one replica, as ``len(settings)`` stacks at once that share
    nothing but the Redis (each its own keys and streams) and each store all of ``bodies``.

    Each replica does exactly the work of one replica alone, on a machine as busy as with that
    many replicas (busier: each stack has its own ingest and store). So its CPU time per article
    against one replica alone is what sharing the cores does to the same work, protocol and
    Redis round trips included; replicas that share one index are read against it.
    """
    redis_url = settings[0].redis_url
    assert redis_url and all(s.redis_url == redis_url for s in settings), "one Redis for all"
    with ExitStack() as stacks:
        running = [stacks.enter_context(stack(s, ["store", "ingest", "dedupe"])) for s in settings]

        def store_all(articles: Sequence[dict[str, Any]], before: int) -> None:
            def one(stacked: Stack) -> None:
                post_all(stacked.url("ingest"), articles, 100, concurrency)
                total = before + len(articles)
                wait_until(lambda: stored_count(stacked.url("store")) >= total, "all stored")

            with ThreadPoolExecutor(len(running)) as pool:
                list(pool.map(one, running))  # list(): a failed stack raises here

        if warmup:
            store_all(warmup, 0)
        return _measure(running, settings[0].cluster, lambda: store_all(bodies, len(warmup)))


def _measure(
    stacks: Sequence[Stack], cluster: bool, load: Callable[[], None]
) -> tuple[Timed, Timed]:
    """Run ``load`` on running stacks (on one Redis): the time with every service's CPU and the
    Redis commands made meanwhile, and with the dedupe replicas' CPU alone and their text
    work's."""
    redis_url = stacks[0].redis_url
    assert redis_url is not None
    dedupes = [(s, name) for s in stacks for name in s.processes if name.startswith("dedupe")]

    def text_work() -> float:
        return sum(_text_work_seconds(s.url(name)) for s, name in dedupes)

    client = sync_client(redis_url, cluster)
    commands = redis_commands(client)
    text_before = text_work()
    every = Stopwatch(*(p.pid for s in stacks for p in s.processes.values()))
    dedupe = Stopwatch(*(s.processes[name].pid for s, name in dedupes))
    load()
    timed = replace(every.stop(), redis_commands=redis_commands(client) - commands)
    text_after = text_work()
    client.close()
    return timed, replace(dedupe.stop(), text_work_seconds=text_after - text_before)


def _text_work_seconds(url: str) -> float:
    """The counter a dedupe replica serves at ``/metrics``."""
    metrics = httpx.get(url + "/metrics", timeout=5).text
    for family in text_string_to_metric_families(metrics):
        if family.name == "newsdedup_text_work_cpu_seconds":
            return float(sum(sample.value for sample in family.samples
                             if sample.name.endswith("_total")))  # fmt: skip
    raise LookupError(f"{url} serves no text work counter")


async def _paced(
    base_url: str, bodies: Sequence[dict[str, Any]], rate: float, batch: int
) -> dict[str, float]:
    sent: dict[str, float] = {}
    interval = batch / rate
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        started = time.monotonic()
        tasks = []
        for n, start in enumerate(range(0, len(bodies), batch)):
            delay = started + n * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the load, not waiting for async work
            chunk = list(bodies[start : start + batch])
            tasks.append(asyncio.create_task(_post_batch(http, chunk, sent)))
        await asyncio.gather(*tasks)
    return sent


async def _post_batch(
    http: httpx.AsyncClient, chunk: list[dict[str, Any]], sent: dict[str, float]
) -> None:
    at = time.time()
    response = await http.post("/articles/batch", json=chunk)
    response.raise_for_status()
    for article_id in response.json()["ids"]:
        sent[article_id] = at


def latency(
    settings: Settings, bodies: Sequence[dict[str, Any]], rate: float, batch: int = 10
) -> Latencies:
    """POST→verdict latency with articles posted at ``rate`` per second, in small batches."""
    with stack(settings, ["store", "dedupe", "ingest"]) as running:
        assert running.redis_url is not None
        client = redis.Redis.from_url(running.redis_url)
        sent = asyncio.run(_paced(running.url("ingest"), bodies, rate, batch))
        wait_until(lambda: _verdict_count(client, settings) >= len(bodies), "all verdicts")
        waits = []
        for stream in (settings.stream_canonical, settings.stream_duplicates):
            entries: Any = client.xrange(stream)
            for _, fields in entries:
                verdict = decode(Verdict, fields)
                waits.append((verdict.decided_at.timestamp() - sent[verdict.id]) * 1000)
    cut = statistics.quantiles(waits, n=100)
    return Latencies(statistics.median(waits), cut[94], cut[98], rate)
