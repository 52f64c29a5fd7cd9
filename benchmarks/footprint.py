"""The memory an object graph holds: every object reachable from a root, each counted once."""

from __future__ import annotations

import gc
import sys
from types import FunctionType, ModuleType

# Shared by everything, owned by nothing: not counted, and not followed.
_SHARED = (type, ModuleType, FunctionType)


def deep_size(root: object) -> int:
    """Bytes of ``root`` and of everything it reaches (``sys.getsizeof``, numpy arrays with
    their data), each object once: a string shared by many entries counts once."""
    seen: set[int] = set()
    total = 0
    pending = [root]
    while pending:
        obj = pending.pop()
        if id(obj) in seen or isinstance(obj, _SHARED):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        pending.extend(gc.get_referents(obj))
        if isinstance(obj, dict):
            pending.extend(obj)  # the collector does not visit a dict's string keys
    return total
