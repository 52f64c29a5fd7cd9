"""The judge's fold in a process of its own, and its snapshots written by a forked copy.

The dedupe service's event loop renews the judge's lease, answers ``/health`` and ``/metrics``
and does the Redis reads and writes of every batch, so none of the fold's work runs on it:
``FoldProcess`` runs a ``FoldHost`` in a child process, and each call waits for the child on a
worker thread. A child process, not a thread, because unpickling a state holds the interpreter's
lock for as long as it takes (seconds at a million articles), and a thread would hold the loop
with it. The child lives as long as its parent: it ends when the pipe to the parent closes,
kill -9 included. ``LocalFold`` runs a ``FoldHost`` on a thread of the calling process instead,
for benchmarks that look into the state.

``FoldHost`` is the fold and its state's way in and out of Redis: it reads a snapshot on a
connection of its own, and writes one from a forked copy of its process (which has one thread,
so the fork is safe), which pickles and writes while the fold goes on judging: the copy's memory
is this one's as of the fork (copy-on-write), so the judge stops only for the fork.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import traceback
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from services.dedupe.judge.fold import Fold, Folded, Fresh
from services.dedupe.judge.judge import Judge
from services.dedupe.service.snapshots import Snapshot, Stored, read_snapshot, write_snapshot
from shared.settings import Settings


class FoldHost:
    """A ``Fold`` with its snapshots' I/O: what the fold's process answers calls with."""

    def __init__(
        self, settings: Settings, judge_class: type[Judge] = Judge, fork_snapshots: bool = False
    ) -> None:
        """``fork_snapshots``: write snapshots from a forked copy of this process (only where
        it has one thread: the fold's own process)."""
        self.fold = Fold(settings, judge_class)
        self.fork_snapshots = fork_snapshots
        self.inherited: list[int] = []  # file descriptors a snapshot's writer closes
        self._writer: tuple[int, int] | None = None  # a snapshot writer's pid and report pipe
        self._written: int | None = None

    def load(self, stored: Stored | None) -> int:
        """The state of a snapshot, read from Redis, or a new one; how many articles its index
        holds."""
        self._stop_writer()
        return self.fold.load(None if stored is None else read_snapshot(self.fold.settings, stored))

    def replay(self, entries: Sequence[bytes]) -> int:
        return self.fold.replay(entries)

    def indexed(self) -> int:
        return self.fold.indexed()

    def prepare(self, entries: Sequence[tuple[str, str, bytes]]) -> list[Fresh]:
        return self.fold.prepare(entries)

    def judge(self, records: Sequence[bytes | None]) -> Folded:
        return self.fold.judge(records)

    def snapshot(self, target: Snapshot) -> None:
        """Start writing the state as it stands now to ``target`` (``snapshot_written`` says
        when it is written): with ``fork_snapshots`` from a forked copy of this process, else
        here and now."""
        if self._writer is not None:
            raise RuntimeError("a snapshot is being written already")
        if not self.fork_snapshots:
            self._written = write_snapshot(self.fold.settings, target, self.fold.dump())
            return
        report, result = os.pipe()
        pid = os.fork()
        if pid == 0:  # the copy: write, report the parts, and leave without cleaning up
            status = 1
            try:
                os.close(report)
                for fd in self.inherited:
                    os.close(fd)
                parts = write_snapshot(self.fold.settings, target, self.fold.dump())
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

    def _stop_writer(self) -> None:
        """A snapshot being written is not wanted any more (the state is replaced): its parts
        expire unswitched."""
        if self._writer is not None:
            pid, report = self._writer
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(report)
            self._writer = None


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
    """A ``FoldHost`` in this process, each call on a worker thread."""

    def __init__(self, settings: Settings, judge_class: type[Judge] = Judge) -> None:
        self.host = FoldHost(settings, judge_class)
        self._lock = asyncio.Lock()

    @property
    def fold(self) -> Fold:
        return self.host.fold

    async def _call(self, method: str, *args: Any) -> Any:
        async with self._lock:
            return await asyncio.to_thread(getattr(self.host, method), *args)


class FoldProcess(FoldClient):
    """A ``FoldHost`` in a child process of its own (started with ``spawn``: nothing of this
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
    host = FoldHost(settings, judge_class, fork_snapshots=True)
    host.inherited.append(conn.fileno())
    conn.send((True, None))
    while True:
        try:
            method, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = (True, getattr(host, method)(*args))
        except Exception:
            reply = (False, traceback.format_exc())
        try:
            conn.send(reply)
        except OSError:
            return
