"""Where a running ``newsdedup up`` serves, recorded in its data directory for the other commands.

``up`` writes ``stack.json`` once every service answers, and removes it when it stops. ``ingest``,
``tail`` and ``dead`` read it when nothing else (``--api``, ``REDIS_URL``, a host or port of their
own) says where to go, so they find a stack started in the same folder, or with the same
``NEWSDEDUP_DATA_DIR``, without copying addresses around. Only an embedded Redis is recorded: a
Redis of the user's own comes with its URL, and possibly its password, from the environment.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

FILE_NAME = "stack.json"


@dataclass(frozen=True)
class Addresses:
    ingest: str
    store: str
    dedupe: str
    redis_url: str | None = None  # the embedded one

    def write(self, data_dir: Path) -> None:
        path = Path(data_dir) / FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @staticmethod
    def read(data_dir: Path) -> Addresses | None:
        """What the stack serving from ``data_dir`` recorded; None when none runs there."""
        try:
            recorded = json.loads((Path(data_dir) / FILE_NAME).read_text(encoding="utf-8"))
            return Addresses(**recorded)
        except (OSError, ValueError, TypeError):
            return None

    @staticmethod
    def clear(data_dir: Path) -> None:
        (Path(data_dir) / FILE_NAME).unlink(missing_ok=True)
