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
DEDUPE_GROUP = "dedupe"
STORE_GROUP = "store"

M = TypeVar("M", bound=BaseModel)

# LSH sets carry one of this many hash tags (by shard): on a Redis Cluster, a script call may
# touch only one slot, so a batch's writes to the sets go out as one call per tag. Enough tags
# to spread the index evenly over a cluster's masters; few enough to keep calls per batch low.
BUCKET_SLOTS = 128


def bucket_key(stem: str, generation: int, shard: int) -> str:
    """An LSH set's name: its stem, its hash tag (by shard), generation and shard. The bucket
    scripts of ``services.dedupe.buckets`` make the same names in Lua."""
    return f"{stem}{shard % BUCKET_SLOTS}}}:{generation}:{shard}"


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


@dataclass(frozen=True)
class Keys:
    """Every Redis key the services write, under one prefix so deployments can share a server."""

    prefix: str

    def idempotency(self, key: str, stream: str) -> str:
        """Recorded together with the stream entries, so in the stream's slot."""
        return f"{self.prefix}:idem:{{{slot_tag(stream)}}}:{key}"

    def url(self, url_hash: str) -> str:
        return f"{self.prefix}:url:{url_hash}"

    # An article's entry and verdict share the hash tag {<id>}: one Redis Cluster slot.
    def entry(self, article_id: str) -> str:
        return f"{self.prefix}:e:{{{article_id}}}"

    @property
    def bucket_stem(self) -> str:
        """What the dedupe index's LSH set names start with (``bucket_key``)."""
        return f"{self.prefix}:lsh:{{l"

    def bucket(self, generation: int, shard: int) -> str:
        return bucket_key(self.bucket_stem, generation, shard)

    def verdict(self, article_id: str) -> str:
        return f"{self.prefix}:verdict:{{{article_id}}}"

    def outbox(self, article_id: str) -> str:
        return f"{self.prefix}:out:{{{article_id}}}"

    def story_member(self, article_id: str) -> str:
        return f"{self.prefix}:st:e:{{{article_id}}}"

    @property
    def story_bucket_stem(self) -> str:
        return f"{self.prefix}:st:lsh:{{s"

    def story_bucket(self, generation: int, shard: int) -> str:
        return bucket_key(self.story_bucket_stem, generation, shard)

    def story(self, story_id: str) -> str:
        return f"{self.prefix}:story:{{{story_id}}}"

    def document_frequency(self, generation: int) -> str:
        return f"{self.prefix}:df:{generation}"

    def documents(self, generation: int) -> str:
        return f"{self.prefix}:dfn:{generation}"

    def boilerplate(self, source: str) -> str:
        return f"{self.prefix}:bp:{source}"

    def taken(self, stream: str) -> str:
        """The latest article id dedupe took from a raw stream partition, in its slot."""
        return f"{self.prefix}:taken:{{{slot_tag(stream)}}}"

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
    """The consumer groups the system depends on, by stream: dedupe reads every raw partition,
    the store reads both verdict streams. Each must see every entry ever written to its stream
    (``shared.groups``). The dead stream is read without a group."""
    groups: dict[str, tuple[str, ...]] = {
        stream: (DEDUPE_GROUP,) for stream in settings.raw_streams
    }
    for stream in (settings.stream_canonical, settings.stream_duplicates):
        groups[stream] = (STORE_GROUP,)
    return groups


def keys_for(settings: Settings) -> Keys:
    return Keys(settings.key_prefix)
