"""Article ids that sort by ingest time (ULIDs).

The earlier-ingested article wins a duplicate decision, and several ingest processes or stream
partitions have no shared order; an id whose first 48 bits are the ingest millisecond gives every
service the same order from the id alone. Ids of one process increase even inside one
millisecond (python-ulid's monotonic generator).
"""

from __future__ import annotations

from ulid import ULID, LaxMonotonicPolicy, ULIDGenerator

_generator = ULIDGenerator(policy=LaxMonotonicPolicy())


def new_id() -> str:
    """A 26-character ULID, later than every earlier one of this process."""
    return str(_generator.generate())


def id_at(ms: int, sequence: int) -> str:
    """The ULID of a given time and sequence number: an article as if ingested then (a replayed
    or simulated stream), outside this process's monotonic order."""
    return str(ULID.from_int((ms << 80) | sequence))


def id_time_ms(article_id: str) -> int:
    """The millisecond timestamp a ULID was made at; a ValueError for text that is no ULID."""
    return ULID.from_str(article_id).milliseconds
