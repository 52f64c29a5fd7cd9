"""Stream, group and key names, and the wire format of a stream entry.

An entry holds one field, ``__data__``, with the model as plain JSON. FastStream's stream parser
reads that field as the message body, and a redis-py client needs only ``json.loads``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel
from redis.typing import EncodableT, FieldT

from shared.settings import Settings

DATA_FIELD = "__data__"
DEDUPE_GROUP = "dedupe"  # text work: any number of replicas
JUDGE_GROUP = "judge"  # the judge: one reader, its position in each raw stream
JUDGE_CONSUMER = "judge"  # whoever holds the lease reads as this consumer
STORE_GROUP = "store"

M = TypeVar("M", bound=BaseModel)


def encode(model: BaseModel) -> dict[FieldT, EncodableT]:
    return {DATA_FIELD: model.model_dump_json().encode()}


def payload_of(fields: dict[bytes, bytes] | dict[str, bytes]) -> bytes:
    """The JSON body of an entry as read by redis-py (bytes keys) or FastStream (str keys)."""
    for key, value in fields.items():
        if key in (DATA_FIELD, DATA_FIELD.encode()):
            return value if isinstance(value, bytes) else str(value).encode()
    raise ValueError(f"stream entry has no {DATA_FIELD} field")


def decode(model: type[M], fields: dict[bytes, bytes] | dict[str, bytes]) -> M:
    return model.model_validate_json(payload_of(fields))


def stream_id(message_id: str) -> tuple[int, int]:
    """A stream entry's id as a pair that sorts as Redis orders entries."""
    ms, _, seq = message_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True)
class Keys:
    """Every Redis key the services write, under one prefix so deployments can share a server."""

    prefix: str

    def idempotency(self, key: str, stream: str) -> str:
        """Recorded together with the stream entries, so in the stream's slot."""
        return f"{self.prefix}:idem:{{{slot_tag(stream)}}}:{key}"

    # The judge's keys share one hash tag: its lease is checked inside the script that writes
    # its journal, so on a Redis Cluster they must be in one slot.
    @property
    def judge_tag(self) -> str:
        return f"{{{self.prefix}:judge}}"

    def judge_lease(self) -> str:
        return f"{self.prefix}:judge:{self.judge_tag}:lease"

    def judge_token(self) -> str:
        return f"{self.prefix}:judge:{self.judge_tag}:token"

    def journal(self) -> str:
        return f"{self.prefix}:judge:{self.judge_tag}:journal"

    def published(self) -> str:
        """On a cluster: the last journal entry whose verdicts are on their streams."""
        return f"{self.prefix}:judge:{self.judge_tag}:published"

    def snapshot(self) -> str:
        return f"{self.prefix}:judge:{self.judge_tag}:snapshot"

    def snapshot_part(self, name: str, part: int) -> str:
        return f"{self.prefix}:judge:{self.judge_tag}:snapshot:{name}:{part}"

    def features(self, stream: str, article_id: str) -> str:
        """An article's text features, in its raw stream's slot (one DEL per partition)."""
        return f"{self.prefix}:feat:{{{slot_tag(stream)}}}:{article_id}"

    def deliveries(self, group: str, message_id: str) -> str:
        return f"{self.prefix}:deliveries:{group}:{message_id}"

    def last_error(self, group: str, message_id: str) -> str:
        return f"{self.prefix}:error:{group}:{message_id}"

    def index_params(self) -> str:
        return f"{self.prefix}:index:params"


def slot_tag(key: str) -> str:
    """What Redis Cluster hashes a key by: its ``{tag}`` if it has one, else the whole key."""
    start = key.find("{")
    end = key.find("}", start + 1)
    if start >= 0 and end > start + 1:
        return key[start + 1 : end]
    return key


def required_groups(settings: Settings) -> dict[str, tuple[str, ...]]:
    """The consumer groups the system depends on, by stream: dedupe's text work and its judge
    read every raw partition, the store reads both verdict streams. Each must see every entry
    ever written to its stream (``shared.groups``). The dead stream is read without a group."""
    groups: dict[str, tuple[str, ...]] = {
        stream: (DEDUPE_GROUP, JUDGE_GROUP) for stream in settings.raw_streams
    }
    for stream in (settings.stream_canonical, settings.stream_duplicates):
        groups[stream] = (STORE_GROUP,)
    return groups


def keys_for(settings: Settings) -> Keys:
    return Keys(settings.key_prefix)
