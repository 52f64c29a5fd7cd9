"""The judge's fold, and the process it runs in.

``Fold`` holds the judge's state (``JudgeState``) and does everything CPU-bound the judge does:
judging a batch (with the text work no replica did), replaying journal entries, unpickling a
snapshot, and starting one: a forked copy of the fold's process pickles and writes it while the
fold goes on judging. It takes bytes and gives bytes: raw entries' JSON and feature
records in; the batch's journal entry and its verdicts out.

The dedupe service's event loop renews the judge's lease, answers ``/health`` and ``/metrics``
and does every Redis read and write, so none of that work runs on it: ``FoldProcess`` runs a
``Fold`` in a child process, and each call waits for the child on a worker thread. A child
process, not a thread, because unpickling a state holds the interpreter's lock for as long as
it takes (seconds at a million articles), and a thread would hold the loop with it. The child
lives as long as its parent: it ends when the pipe to the parent closes, kill -9 included.
``LocalFold`` runs a ``Fold`` on a thread of the calling process instead, for benchmarks that
look into the state.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import signal
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from pydantic import ValidationError

from services.dedupe.judge.judge import Article, Judge, Judged
from services.dedupe.service.journal import (
    Outgoing,
    Snapshot,
    Stored,
    read_snapshot,
    stream_id,
    write_snapshot,
)
from services.dedupe.text.features import (
    TextFeatures,
    decode_features,
    encode_features,
    text_features,
    url_key,
    without_recurring,
)
from services.dedupe.text.signature import signer_for
from shared.ids import id_time_ms
from shared.models import RawArticle, Verdict
from shared.settings import Settings


@dataclass(frozen=True)
class Judgement:
    """One article as the journal keeps it: enough to fold it into the state again."""

    stream: str
    message_id: str
    article: Article
    features: bytes  # ``textwork.encode_features`` of the features as judged


@dataclass
class JudgeState:
    """The judge and the last entry it judged in each raw stream."""

    judge: Judge
    positions: dict[str, str] = field(default_factory=dict)

    def has_judged(self, stream: str, message_id: str) -> bool:
        position = self.positions.get(stream)
        return position is not None and stream_id(message_id) <= stream_id(position)

    def replay(self, judgements: Sequence[Judgement]) -> None:
        for j in judgements:
            self.judge.judge(j.article, decode_features(j.features))
            self.positions[j.stream] = j.message_id


@dataclass(frozen=True)
class Fresh:
    """An entry to judge, as ``Fold.prepare`` names it: its feature record's place."""

    stream: str
    article_id: str


@dataclass(frozen=True)
class Folded:
    """A judged batch, ready to commit."""

    journal: bytes  # the judgements, pickled, as the journal keeps them
    outgoing: list[Outgoing]  # the verdicts, in the order judged
    counted: Sequence[tuple[str, str, str]]  # each verdict's article id, status and reason
    text_cpu_s: float  # CPU time of the text work the judge did itself


def event_ms(article: RawArticle) -> int:
    """When the article's event happened, as far as we know: its publication time if given,
    else its ingest time. Stories close by this clock, so a backlog ingested late still groups
    by when it was news."""
    if article.published_at is not None:
        return int(article.published_at.timestamp() * 1000)
    return id_time_ms(article.id)


def article_of(raw: RawArticle) -> Article:
    return Article(raw.id, raw.source, url_key(raw.canonical_url), event_ms(raw))


def verdict_for(article: RawArticle, judged: Judged) -> Verdict:
    decision = judged.decision
    return Verdict(
        **article.model_dump(),
        status=decision.status,
        canonical_id=decision.canonical_id,
        similarity=decision.similarity,
        reason=decision.reason,
        measure=decision.measure,
        matched_id=decision.matched_id,
        story_id=judged.story_id,
        story_terms=judged.story_terms,
        decided_at=datetime.now(UTC),
    )


class Fold:
    """The judge's state and the work on it, synchronous. One batch at a time: ``prepare``
    names the entries to judge, ``judge`` judges them with whatever feature records were
    found."""

    def __init__(
        self, settings: Settings, judge_class: type[Judge] = Judge, fork_snapshots: bool = False
    ) -> None:
        """``fork_snapshots``: write snapshots from a forked copy of this process (only where
        it has one thread: the fold's own process)."""
        self.settings = settings
        self.judge_class = judge_class
        self.fork_snapshots = fork_snapshots
        self.inherited: list[int] = []  # file descriptors a snapshot's writer closes
        self.signer = signer_for(settings)
        self.state = JudgeState(judge_class(settings, self.signer))
        self._batch: list[tuple[str, str, RawArticle]] = []
        self._read: dict[str, str] = {}
        self._writer: tuple[int, int] | None = None  # a snapshot writer's pid and report pipe
        self._written: int | None = None

    def load(self, stored: Stored | None) -> int:
        """The state of a snapshot, read from Redis, or a new one; how many articles its index
        holds."""
        self._stop_writer()
        if stored is None:
            self.state = JudgeState(self.judge_class(self.settings, self.signer))
        else:
            self.state = pickle.loads(read_snapshot(stored))
        return len(self.state.judge.index)

    def replay(self, entries: Sequence[bytes]) -> int:
        """Fold journal entries (``Folded.journal`` each) into the state; how many articles."""
        count = 0
        for entry in entries:
            judgements: list[Judgement] = pickle.loads(entry)
            self.state.replay(judgements)
            count += len(judgements)
        return count

    def snapshot(self, target: Snapshot) -> None:
        """Start writing the state as it stands now to ``target`` (``snapshot_written`` says
        when it is written). With ``fork_snapshots``, a forked copy of this process pickles and
        writes it while this one goes on judging: the copy's memory is this one's as of the
        fork (copy-on-write), so the judge stops only for the fork, whatever the state's size.
        """
        if self._writer is not None:
            raise RuntimeError("a snapshot is being written already")
        if not self.fork_snapshots:
            self._written = write_snapshot(target, self._pickled())
            return
        report, result = os.pipe()
        pid = os.fork()
        if pid == 0:  # the copy: write, report the parts, and leave without cleaning up
            status = 1
            try:
                os.close(report)
                for fd in self.inherited:
                    os.close(fd)
                parts = write_snapshot(target, self._pickled())
                os.write(result, str(parts).encode())
                status = 0
            finally:
                os._exit(status)
        os.close(result)
        self._writer = (pid, report)

    def snapshot_written(self) -> int | None:
        """The parts of the snapshot ``snapshot`` started, once they are written; None while
        they are not. Raises if the writer failed (the lease lost, Redis gone)."""
        if self._writer is None:
            written, self._written = self._written, None
            return written
        pid, report = self._writer
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            return None
        self._writer = None
        with os.fdopen(report, "rb") as reported:
            parts = reported.read()
        if status != 0 or not parts:
            raise RuntimeError(f"the snapshot writer failed (wait status {status})")
        return int(parts)

    def _pickled(self) -> bytes:
        return pickle.dumps(self.state, protocol=pickle.HIGHEST_PROTOCOL)

    def _stop_writer(self) -> None:
        """A snapshot being written is not wanted any more (the state is replaced): its parts
        expire unswitched."""
        if self._writer is not None:
            pid, report = self._writer
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(report)
            self._writer = None

    def indexed(self) -> int:
        return len(self.state.judge.index)

    def prepare(self, entries: Sequence[tuple[str, str, bytes]]) -> list[Fresh]:
        """Of the entries read (stream, id, JSON), in the order the judge takes them (ingest
        order), those not judged before and readable as articles."""
        batch = []
        read: dict[str, str] = {}
        for stream, message_id, payload in entries:
            read[stream] = message_id  # entries come in stream order
            if self.state.has_judged(stream, message_id):
                continue  # committed before: only its ack was left
            try:
                batch.append((stream, message_id, RawArticle.model_validate_json(payload)))
            except (ValidationError, ValueError):
                continue  # the text work's group parks it on the dead stream
        batch.sort(key=lambda e: (e[2].id, stream_id(e[1])))
        self._batch, self._read = batch, read
        return [Fresh(stream, raw.id) for stream, _, raw in batch]

    def judge(self, records: Sequence[bytes | None]) -> Folded:
        """Judge the prepared entries, with each one's feature record if a replica left one."""
        settings, signer = self.settings, self.signer
        started = time.process_time()
        features = [decode_features(r) if r else text_features(raw, signer)
                    for r, (_, _, raw) in zip(records, self._batch, strict=True)]  # fmt: skip
        text_cpu = time.process_time() - started if not all(records) else 0.0
        judgements, outgoing, counted = [], [], []
        state = self.state
        for (stream, message_id, raw), found in zip(self._batch, features, strict=True):
            article = article_of(raw)
            judged = state.judge.judge(article, found, _refeature(raw, found, signer))
            state.positions[stream] = message_id
            judgements.append(
                Judgement(stream, message_id, article, encode_features(judged.features))
            )
            verdict = verdict_for(raw, judged)
            target = (settings.stream_canonical if judged.decision.is_canonical
                      else settings.stream_duplicates)  # fmt: skip
            outgoing.append(Outgoing(target, verdict.model_dump_json().encode()))
            counted.append((verdict.id, verdict.status, verdict.reason or ""))
        for stream, last in self._read.items():  # every entry read is done now
            if not state.has_judged(stream, last):
                state.positions[stream] = last
        self._batch, self._read = [], {}
        return Folded(pickle.dumps(judgements), outgoing, counted, text_cpu)


def _refeature(raw: RawArticle, features: TextFeatures, signer: Any) -> Any:
    return lambda recurring: without_recurring(raw, features, signer, recurring)


class FoldFailed(RuntimeError):
    """The fold raised, or its process is gone: the judge's state must be restored."""


class FoldClient:
    """The fold's calls, awaited without blocking the event loop."""

    async def _call(self, method: str, *args: Any) -> Any:
        raise NotImplementedError

    async def start(self) -> None:
        """Ready to take calls (a process that died is started again)."""

    async def close(self) -> None:
        """Let go of the fold (a process ends)."""

    async def load(self, stored: Stored | None) -> int:
        result: int = await self._call("load", stored)
        return result

    async def replay(self, entries: Sequence[bytes]) -> int:
        result: int = await self._call("replay", entries)
        return result

    async def snapshot(self, target: Snapshot) -> None:
        await self._call("snapshot", target)

    async def snapshot_written(self) -> int | None:
        result: int | None = await self._call("snapshot_written")
        return result

    async def indexed(self) -> int:
        result: int = await self._call("indexed")
        return result

    async def prepare(self, entries: Sequence[tuple[str, str, bytes]]) -> list[Fresh]:
        result: list[Fresh] = await self._call("prepare", entries)
        return result

    async def judge(self, records: Sequence[bytes | None]) -> Folded:
        result: Folded = await self._call("judge", records)
        return result


class LocalFold(FoldClient):
    """A ``Fold`` in this process, each call on a worker thread."""

    def __init__(self, settings: Settings, judge_class: type[Judge] = Judge) -> None:
        self.fold = Fold(settings, judge_class)
        self._lock = asyncio.Lock()

    async def _call(self, method: str, *args: Any) -> Any:
        async with self._lock:
            return await asyncio.to_thread(getattr(self.fold, method), *args)


class FoldProcess(FoldClient):
    """A ``Fold`` in a child process of its own (started with ``spawn``: nothing of this
    process's threads or connections is copied into it)."""

    def __init__(self, settings: Settings, judge_class: type[Judge] = Judge) -> None:
        self.settings = settings
        self.judge_class = judge_class
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._lock = asyncio.Lock()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        async with self._lock:
            if self._process is not None and self._process.is_alive():
                return
            await asyncio.to_thread(self._spawn)

    def _spawn(self) -> None:
        self._kill()
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=serve, args=(theirs, self.settings, self.judge_class),
            name="newsdedup-judge-fold", daemon=True,
        )  # fmt: skip
        process.start()
        theirs.close()  # the child holds the only other end: its exit closes the pipe
        self._process, self._conn = process, ours
        self._receive()  # the child says it is ready

    async def _call(self, method: str, *args: Any) -> Any:
        async with self._lock:
            if self._conn is None:
                raise FoldFailed("the judge's fold process is not running")
            try:
                return await asyncio.to_thread(self._roundtrip, method, args)
            except asyncio.CancelledError:
                # The reply may still come: the pipe is out of step. End the child, which also
                # wakes the thread that waits for it.
                self._kill()
                raise

    def _roundtrip(self, method: str, args: tuple[Any, ...]) -> Any:
        conn = self._conn
        assert conn is not None
        try:
            conn.send((method, args))
        except OSError as exc:
            raise FoldFailed(f"the judge's fold process is gone ({exc!r})") from exc
        return self._receive()

    def _receive(self) -> Any:
        conn = self._conn
        assert conn is not None
        try:
            ok, value = conn.recv()
        except (EOFError, OSError) as exc:
            raise FoldFailed(f"the judge's fold process is gone ({exc!r})") from exc
        if not ok:
            raise FoldFailed(f"the judge's fold failed:\n{value}")
        return value

    async def close(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._kill)

    def _kill(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()  # the child reads the end of the pipe and exits
        if process is not None:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()


def serve(conn: Connection, settings: Settings, judge_class: type[Judge]) -> None:
    """The child process: answer calls until the pipe closes."""
    # Ctrl-C reaches every process of the terminal's group: the parent decides when to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fold = Fold(settings, judge_class, fork_snapshots=True)
    fold.inherited.append(conn.fileno())
    conn.send((True, None))
    while True:
        try:
            method, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = (True, getattr(fold, method)(*args))
        except Exception:
            reply = (False, traceback.format_exc())
        try:
            conn.send(reply)
        except OSError:
            return
