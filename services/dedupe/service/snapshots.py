"""The judge's snapshots in Redis: the whole state, pickled, in parts that the holder of the
lease writes, fenced, from a process of its own, and that a judge taking over reads on a
connection of its own; neither passes the state's bytes through the service's event loop."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from services.dedupe.service.lease import FENCE
from shared.redis import as_bytes, sync_client
from shared.settings import Settings
from shared.streams import keys_for

SNAPSHOT_PART_BYTES = 64 << 20

# KEYS: lease, a snapshot part; ARGV: lease value, the part, its time to live (ms). A part lives
# until the switch to its snapshot keeps it: the parts of a write never switched to expire.
_PART = FENCE + "return redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])"
SNAPSHOT_PART_TTL_MS = 3_600_000


@dataclass(frozen=True)
class Snapshot:
    """Where a snapshot of the state as of journal entry ``journal_id`` goes, and with what
    right to write it."""

    lease: str
    journal_id: str

    @property
    def name(self) -> str:
        return f"{self.lease.split(':', 1)[0]}-{self.journal_id}"


@dataclass(frozen=True)
class Stored:
    """A snapshot in Redis, as the snapshot's record names it."""

    name: str
    parts: int


def _client(settings: Settings) -> redis.Redis:
    assert settings.redis_url is not None  # the services run on a Redis they were given
    return sync_client(settings.redis_url, settings.cluster)


def read_snapshot(settings: Settings, stored: Stored) -> bytes:
    """A snapshot's pickled state, its parts read on a connection of the reader's own (the
    fold's process reads it: the state's bytes never pass through the service's loop)."""
    client = _client(settings)
    keys = keys_for(settings)
    try:
        names = [keys.snapshot_part(stored.name, n) for n in range(stored.parts)]
        parts = [client.get(name) for name in names]
    finally:
        client.close()
    if any(part is None for part in parts):
        raise RuntimeError("the judge's snapshot is missing a part")
    return b"".join(as_bytes(part) for part in parts if part is not None)


def write_snapshot(settings: Settings, target: Snapshot, data: bytes) -> int:
    """Write a pickled state in parts of ``SNAPSHOT_PART_BYTES``, each fenced, on a connection
    of its own (it runs in a process forked for it); how many parts."""
    client = _client(settings)
    keys = keys_for(settings)
    try:
        view = memoryview(data)
        parts = range(0, len(data), SNAPSHOT_PART_BYTES) if data else range(1)
        for n, at in enumerate(parts):
            part = bytes(view[at : at + SNAPSHOT_PART_BYTES])
            client.eval(_PART, 2, keys.judge_lease(), keys.snapshot_part(target.name, n),
                        target.lease, part, SNAPSHOT_PART_TTL_MS)  # fmt: skip
    finally:
        client.close()
    return len(parts)
