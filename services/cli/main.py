"""The ``newsdedup`` command: run the stack, one service, the demo, or post files."""

from __future__ import annotations

import contextlib
import gc
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from textwrap import shorten
from typing import Any, TypeVar

import click
import redis

from shared.logs import setup_logging
from shared.redis import sync_client
from shared.settings import Settings, SettingsError, load_settings


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@contextlib.contextmanager
def _redis_client() -> Iterator[tuple[Settings, redis.Redis]]:
    """The Redis to read: REDIS_URL, or else the embedded one of the stack `newsdedup up` runs
    from the data directory. An unreachable one ends the command with one line, not a trace."""
    from services.cli.addresses import Addresses
    from shared.redis import without_password

    settings = _settings()
    if not settings.redis_url:
        running = Addresses.read(settings.data_dir)
        if running is None or running.redis_url is None:
            raise click.ClickException(
                f"no stack runs from {settings.data_dir}: start one there (newsdedup up), "
                "or set REDIS_URL (or NEWSDEDUP_DATA_DIR) to say which Redis to read"
            )
        settings = settings.model_copy(update={"redis_url": running.redis_url})
    assert settings.redis_url
    client = sync_client(settings.redis_url, settings.cluster)
    try:
        yield settings, client
    except redis.ConnectionError as exc:
        raise click.ClickException(
            f"cannot reach Redis at {without_password(settings.redis_url)} ({exc}): "
            "is the stack running (newsdedup up)?"
        ) from exc
    finally:
        client.close()


T = TypeVar("T")
LAG_CHECK_SECONDS = 5.0  # how often `up` reads the judge's lag


@click.group()
@click.version_option(package_name="newsdedup", prog_name="newsdedup")
def main() -> None:
    """newsdedup: deduplicating news ingestion."""


@main.command()
@click.option("--ingest-port", type=int, default=None, help="Ingest API port (default 8000).")
@click.option("--store-port", type=int, default=None, help="Store API port (default 8001).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
def up(ingest_port: int | None, store_port: int | None, data_dir: Path | None) -> None:
    """Run ingest, dedupe and store here; embedded Redis and SQLite unless configured."""
    from services.cli.addresses import Addresses
    from services.cli.stack import Stack
    from services.cli.status import LagWarning
    from shared.progress import judge_status
    from shared.redis import without_password

    settings = _settings(data_dir=data_dir, ingest_port=ingest_port, store_port=store_port)
    # Ctrl-C (SIGINT, which the terminal also sends the services) and SIGTERM both only set a
    # flag, from the first moment: an interrupt raised in the middle of starting a service could
    # leave it running with nobody to stop it.
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    try:
        with Stack(settings) as stack:
            addresses = Addresses(
                ingest=stack.url("ingest"), store=stack.url("store"), dedupe=stack.url("dedupe"),
                redis_url=stack.redis_url if stack.redis else None,
            )  # fmt: skip
            addresses.write(stack.data_dir)
            try:
                shown = without_password(stack.redis_url or "")
                click.echo(f"redis   {shown}" + ("  (embedded)" if stack.redis else ""))
                click.echo(f"ingest  {addresses.ingest}   POST /articles    metrics /metrics")
                click.echo(
                    f"store   {addresses.store}   the page, GET /articles    metrics /metrics"
                )
                click.echo(f"dedupe  {addresses.dedupe}   metrics /metrics")
                click.echo(f"logs    {stack.log_dir}/   Ctrl-C stops everything")
                lag = LagWarning(settings.judge_lag_warning_seconds)
                checked = time.monotonic()
                while not stopped.wait(0.5):
                    for name, process in stack.processes.items():
                        if process.poll() is not None:
                            raise click.ClickException(
                                f"{name} exited; see {stack.log_dir}/{name}.log"
                            )
                    if time.monotonic() - checked >= LAG_CHECK_SECONDS:
                        checked = time.monotonic()
                        try:  # a Redis that does not answer now is the services' to report
                            judge = _read_async(settings, stack.redis_url, judge_status)
                        except (redis.RedisError, OSError):
                            continue
                        line = lag.line(judge)
                        if line:
                            click.echo(line, err=True)
            finally:
                Addresses.clear(stack.data_dir)
    except (RuntimeError, TimeoutError) as exc:  # a service did not start
        if not stopped.is_set():  # (rather than being stopped while it started)
            raise click.ClickException(str(exc)) from exc
    click.echo("stopped")


def _read_async(
    settings: Settings, redis_url: str | None, read: Callable[[Any, Settings], Awaitable[T]]
) -> T:
    """``read`` with an asyncio client of ``redis_url``, from synchronous code."""
    import asyncio

    from shared.redis import async_client

    async def run() -> T:
        assert redis_url
        client = async_client(redis_url, settings.cluster)
        try:
            return await read(client, settings)
        finally:
            await client.aclose()

    return asyncio.run(run())


@main.command()
@click.argument("service", type=click.Choice(["ingest", "dedupe", "store"]))
def serve(service: str) -> None:
    """Run one service, configured from the environment (what compose runs)."""
    import uvicorn

    settings = _settings()
    setup_logging(settings.log_level, settings.log_format)
    if service == "ingest":
        from services.ingest.app import create_app as create

        host, port = settings.ingest_host, settings.ingest_port
    elif service == "dedupe":
        from services.dedupe.app import create_app as create

        host, port = settings.dedupe_host, settings.dedupe_port
    else:
        from services.store.app import create_app as create

        host, port = settings.store_host, settings.store_port
    try:
        app = create(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    # What is loaded by now (libraries, the app) lives as long as the process. Frozen, the
    # collector's full passes do not walk it again: each such pass holds the event loop, and
    # with it every batch of verdicts, for as long as it takes.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)


@main.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--api", default=None, help="Ingest API base URL (default from settings).")
@click.option("--source", default=None, help="Source name to attach to every article.")
@click.option(
    "--api-key", default=None,
    help="Key for the ingest API (default NEWSDEDUP_API_KEY), sent as a Bearer token.",
)  # fmt: skip
@click.option(
    "--rejects", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write each rejected item here, one 'file:line: reason' a line, instead of listing them.",
)  # fmt: skip
def ingest_cmd(
    paths: tuple[Path, ...],
    api: str | None,
    source: str | None,
    api_key: str | None,
    rejects: Path | None,
) -> None:
    """Post .txt, .html, .json and .jsonl files (or folders of them) to the ingest API.

    Each .jsonl line and each element of a .json array is an article of its own: a bad one is
    reported by file and line, and the rest are still posted. Exits 1 if anything was rejected.
    """
    import httpx

    from services.cli.addresses import Addresses
    from services.cli.poster import KeyRefused, post_files

    settings = _settings()
    running = Addresses.read(settings.data_dir)
    if api:
        base = api
    elif running and not {"ingest_host", "ingest_port"} & settings.model_fields_set:
        base = running.ingest  # the stack `newsdedup up` runs from the data directory
    else:
        base = f"http://{settings.ingest_host}:{settings.ingest_port}"
    try:
        summary = post_files(list(paths), base, source=source,
                             api_key=api_key or settings.api_key or None)  # fmt: skip
    except KeyRefused as exc:
        raise click.ClickException(
            f"ingest at {base} refused the API key ({exc}): pass --api-key or set NEWSDEDUP_API_KEY"
        ) from exc
    except httpx.TransportError as exc:
        raise click.ClickException(
            f"cannot reach ingest at {base} ({exc}): start the stack (newsdedup up) or pass --api"
        ) from exc
    click.echo(f"accepted {summary.accepted}, rejected {summary.rejected}")
    if rejects is not None:
        rejects.write_text("".join(f"{line}\n" for line in summary.rejects), encoding="utf-8")
        if summary.rejects:
            click.echo(f"rejected items written to {rejects}", err=True)
    else:
        for line in summary.rejects:
            click.echo(f"rejected {line}", err=True)
    if summary.rejected:
        sys.exit(1)


@main.command("tail")
@click.argument("which", type=click.Choice(["canonical", "duplicates", "dead"]))
@click.option("--from-start", is_flag=True, help="Begin at the stream's first entry.")
@click.option(
    "--group", default=None,
    help="Read through this consumer group (and ack); a new group begins after the entries "
    "already there, unless --from-start.",
)  # fmt: skip
@click.option(
    "--count", type=int, default=None,
    help="Stop after this many entries; with --from-start, also once the stream is read to its "
    "end.",
)  # fmt: skip
def tail_cmd(which: str, from_start: bool, group: str | None, count: int | None) -> None:
    """Print each verdict (or dead letter) as one JSON line: new ones as they come, or from the
    stream's first entry."""

    from services.cli.tail import tail

    with _redis_client() as (settings, client):
        stream = {
            "canonical": settings.stream_canonical,
            "duplicates": settings.stream_duplicates,
            "dead": settings.stream_dead,
        }[which]
        said = f"waiting for new entries of {stream}; Ctrl-C stops"
        with contextlib.suppress(KeyboardInterrupt):
            tail(client, stream, lambda line: click.echo(line), from_start=from_start,
                 group=group, count=count, waiting=lambda: click.echo(said, err=True))  # fmt: skip


@main.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of lines.")
def status_cmd(as_json: bool) -> None:
    """Where the pipeline stands: each stream's length and groups, who holds the judge's lease,
    how far behind the judge is, the last verdict, dead letters."""
    import json

    from services.cli.status import render
    from shared.progress import pipeline_status

    with _redis_client() as (settings, _):
        status = _read_async(settings, settings.redis_url, pipeline_status)
    if as_json:
        click.echo(json.dumps(status.as_dict(), indent=2))
        return
    for line in render(status, settings.stream_dead):
        click.echo(line)


@main.group()
def dead() -> None:
    """The dead-letter stream: messages that kept failing."""


# How much of a dead letter's error `dead list` shows; `tail dead` prints it whole.
ERROR_WIDTH = 200


@dead.command("list")
def dead_list() -> None:
    """One line per dead letter: its id, when, from where, after how many tries, and why."""
    from services.cli.dead import parked

    with _redis_client() as (settings, client):
        letters = parked(client, settings.stream_dead)
    for item in letters:
        letter = item.letter
        click.echo(
            f"{item.entry_id}  {letter.failed_at:%Y-%m-%d %H:%M:%S}  {letter.stream}  "
            f"article={item.article_id or '?'}  tries={letter.deliveries}  "
            + shorten(letter.error, width=ERROR_WIDTH, placeholder=" …")  # on one line
        )
    click.echo(f"{len(letters)} dead letter(s) on {settings.stream_dead}", err=True)


@dead.command("retry")
@click.argument("entry_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Re-queue every dead letter.")
def dead_retry(entry_ids: tuple[str, ...], everything: bool) -> None:
    """Put dead letters back on the stream they came from (by id, as `dead list` shows)."""
    from services.cli.dead import retry

    if not entry_ids and not everything:
        raise click.UsageError("name dead letter ids, or --all")
    with _redis_client() as (settings, client):
        try:
            done = retry(client, settings.stream_dead, entry_ids)
        except KeyError as exc:
            raise click.ClickException(str(exc.args[0])) from exc
    for item in done:
        click.echo(f"re-queued {item.entry_id} on {item.letter.stream}")


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write to this file.")
def asyncapi(out: Path | None) -> None:
    """Export the AsyncAPI document of the streams (JSON)."""
    import json

    from shared.asyncapi import asyncapi_document

    text = json.dumps(asyncapi_document(_settings()), indent=2)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)


@main.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
def demo(data_dir: Path | None) -> None:
    """Start the stack, ingest the sample articles and republished copies, print what dedupe
    decided."""
    import tempfile

    from services.cli.demo import run_demo

    # The demo never touches configured servers: its own embedded Redis and SQLite, fresh each run.
    with tempfile.TemporaryDirectory(prefix="newsdedup-demo-") as scratch:
        settings = _settings(data_dir=data_dir or Path(scratch), ingest_port=0, store_port=0)
        settings = settings.model_copy(update={"redis_url": None, "database_url": None})
        run_demo(settings)


if __name__ == "__main__":
    main()
