"""The one settings class: every knob of every service comes from the environment.

Built on demand (``load_settings``), never at import time, so tests and the CLI can set the
environment first. A bad value stops start-up with a message naming the variable.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

CLUSTER_SCHEME = "redis+cluster://"


def names_a_cluster(url: str) -> bool:
    """Whether a Redis URL names a cluster's nodes (``redis+cluster://host:port,...``)."""
    return url.startswith(CLUSTER_SCHEME)


class SettingsError(ValueError):
    """Raised when the environment holds a value the services cannot start with."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSDEDUP_", extra="ignore", populate_by_name=True
    )

    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "NEWSDEDUP_REDIS_URL"),
        description=(
            "Redis server; unset means `newsdedup up` starts an embedded one. A Redis Cluster: "
            "redis+cluster://host:port,host:port (or NEWSDEDUP_REDIS_CLUSTER=true)."
        ),
    )
    redis_cluster: bool = False
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "NEWSDEDUP_DATABASE_URL"),
        description="SQLAlchemy async URL; unset means SQLite under the data dir.",
    )
    # The database password on its own, put into DATABASE_URL with the escaping a URL needs:
    # compose cannot escape an '@', ':' or '/' in it.
    database_password: str | None = None
    data_dir: Path = Path("./.newsdedup")

    ingest_host: str = "127.0.0.1"
    ingest_port: int = Field(default=8000, ge=0, le=65535)
    store_host: str = "127.0.0.1"
    store_port: int = Field(default=8001, ge=0, le=65535)
    dedupe_host: str = "127.0.0.1"
    dedupe_port: int = Field(default=8002, ge=0, le=65535)

    stream_raw: str = "articles:raw"
    # More than one: ingest spreads articles over ``<stream_raw>:{0}`` ... ``:{N-1}``, each its
    # own Redis Cluster slot, and dedupe consumes them all.
    partitions: int = Field(default=1, ge=1, le=1024)
    # Writes that must survive a master's failover (an accepted article, a published verdict)
    # wait for this many replicas to confirm them, for at most wait_timeout_ms (then proceed,
    # with a warning: a master without replicas must not stop the pipeline).
    wait_replicas: int = Field(default=0, ge=0, le=16)
    wait_timeout_ms: int = Field(default=500, ge=1, le=60_000)
    stream_canonical: str = "articles:canonical"
    stream_duplicates: str = "articles:duplicates"
    stream_dead: str = "articles:dead"
    key_prefix: str = Field(default="nd", min_length=1)

    # A duplicate needs 5-word-shingle Jaccard >= threshold (copies, light edits) or, for teasers
    # and extended copies, their containment >= containment_threshold; or,
    # both texts having pair_min_words words, exact word-pair Jaccard >= pair_threshold (heavy
    # edits) or word-pair containment >= pair_containment_threshold (short teasers, remixes).
    # LSH bands are tuned to the low candidate_threshold so that a heavily edited copy (shingle
    # Jaccard ~0.25) is still a candidate; a teaser is one by its opening words.
    threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    containment_threshold: float = Field(default=0.8, gt=0.0, le=1.0)
    candidate_threshold: float = Field(default=0.1, gt=0.0, lt=1.0)
    containment_min_shingles: int = Field(default=20, ge=1)
    pair_threshold: float = Field(default=0.58, gt=0.0, le=1.0)
    pair_containment_threshold: float = Field(default=0.82, gt=0.0, le=1.0)
    pair_min_words: int = Field(default=25, ge=2)
    # Work per article is bounded whatever the index holds: of each LSH key a look-up reads the
    # newest candidate_postings entries, and it verifies the verify_candidates entries sharing
    # the most keys with the article.
    candidate_postings: int = Field(default=32, ge=1, le=100_000)
    verify_candidates: int = Field(default=8, ge=1, le=10_000)
    num_perm: int = Field(default=128, ge=16, le=1024)
    shingle_size: int = Field(default=5, ge=1, le=12)
    seed: int = Field(default=1, ge=0)
    index_horizon_days: float = Field(default=14.0, gt=0)
    boilerplate_min_articles: int = Field(default=3, ge=2)
    # An edge line up to this many characters is learned when it recurs (a legal footer).
    boilerplate_line_chars: int = Field(default=400, ge=40, le=4000)
    # One dedupe process judges at a time, holding a lease it renews three times per
    # judge_lease_ms; when it dies another takes over within about that time.
    judge_lease_ms: int = Field(default=5_000, ge=300, le=600_000)
    # The judge writes its whole state, and trims its journal to it, once the journal since the
    # last snapshot holds judge_snapshot_every articles or took judge_replay_seconds to judge
    # (what a new judge's replay of it takes), whichever comes first.
    judge_snapshot_every: int = Field(default=50_000, ge=100)
    judge_replay_seconds: float = Field(default=5.0, gt=0)
    # `newsdedup up` warns when the oldest article the judge has not judged is this old.
    judge_lag_warning_seconds: float = Field(default=60.0, gt=0)
    # A canonical article joins the open story whose representative terms are at least this
    # similar (cosine of salient-term weights); a story closes after this long without one.
    story_threshold: float = Field(default=0.25, gt=0.0, lt=1.0)
    story_quiet_days: float = Field(default=3.0, gt=0)
    # A canonical article is weighed against at most this many open stories: those whose
    # members share the most term bands with it.
    story_candidates: int = Field(default=64, ge=1, le=10_000)

    # Comma-separated. Ingest requires one of api_keys when any is set; the store's read API
    # one of read_api_keys. Unset: open (the services warn at start-up).
    api_keys: str = ""
    read_api_keys: str = ""
    # The key the command line sends to the ingest API (one of api_keys).
    api_key: str = ""

    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_batch_items: int = Field(default=1000, ge=1)
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=1)

    consumer_name: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    batch_size: int = Field(default=100, ge=1, le=10_000)
    claim_idle_ms: int = Field(default=30_000, ge=10)
    max_deliveries: int = Field(default=5, ge=1)
    # Streams are trimmed below what every group acked; the verdict streams keep this much
    # history besides, for subscribers that read without a group. The raw stream keeps none.
    stream_retention_minutes: float = Field(default=60.0, ge=0)
    # Ingest answers 503 (Retry-After) instead of queueing past this many unprocessed articles.
    max_backlog: int = Field(default=100_000, ge=1)

    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL"))
    log_format: str = Field(
        default="text", validation_alias=AliasChoices("LOG_FORMAT"), pattern="^(text|json)$"
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        schemes = ("redis://", "rediss://", "unix://", CLUSTER_SCHEME)
        if value is not None and not value.startswith(schemes):
            raise ValueError(f"must start with {', '.join(schemes)}")
        return value or None

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        if not value:
            return None
        if value.startswith(("postgresql://", "postgres://")):
            # Users paste libpq URLs; the store speaks asyncpg.
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be a sqlite+aiosqlite:// or postgresql(+asyncpg):// URL")
        return value

    @property
    def cluster(self) -> bool:
        """Whether REDIS_URL names a Redis Cluster rather than one server."""
        return self.redis_cluster or names_a_cluster(self.redis_url or "")

    @property
    def raw_streams(self) -> list[str]:
        """The raw stream's partitions; the stream itself when there is one."""
        if self.partitions == 1:
            return [self.stream_raw]
        return [f"{self.stream_raw}:{{{n}}}" for n in range(self.partitions)]

    @property
    def effective_database_url(self) -> str:
        if self.database_url and self.database_password:
            from sqlalchemy.engine import make_url

            url = make_url(self.database_url).set(password=self.database_password)
            return url.render_as_string(hide_password=False)
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'store.db'}"

    @property
    def ingest_keys(self) -> list[str]:
        return [k.strip() for k in self.api_keys.split(",") if k.strip()]

    @property
    def read_keys(self) -> list[str]:
        return [k.strip() for k in self.read_api_keys.split(",") if k.strip()]

    @property
    def story_quiet_ms(self) -> int:
        return int(self.story_quiet_days * 86_400_000)

    @property
    def stream_retention_ms(self) -> int:
        return int(self.stream_retention_minutes * 60_000)

    @property
    def index_horizon_ms(self) -> int:
        return int(self.index_horizon_days * 86_400_000)


_ENV_NAMES = {
    "redis_url": "REDIS_URL",
    "database_url": "DATABASE_URL",
    "log_level": "LOG_LEVEL",
    "log_format": "LOG_FORMAT",
}


# URLs carry passwords; keys are secrets. Their values never reach a log or an error message.
_SECRETS = {
    "redis_url", "database_url", "database_password", "api_keys", "read_api_keys", "api_key",
}  # fmt: skip


def env_name(field: str) -> str:
    """The environment variable a settings field is read from."""
    if field.isupper():
        return field
    return _ENV_NAMES.get(field, f"NEWSDEDUP_{field.upper()}")


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, turning pydantic's report into one naming variables."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            secret = field.lower().removeprefix("newsdedup_") in _SECRETS
            got = "a value not shown" if secret else repr(error.get("input"))
            problems.append(f"{env_name(field)}: {error['msg']} (got {got})")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from exc


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that reproduces ``settings`` in a child process."""
    env: dict[str, str] = {}
    for field, value in settings.model_dump().items():
        if value is not None:
            env[env_name(field)] = str(value)
    return env
