import pytest

from shared.settings import Settings, SettingsError, load_settings, settings_env


def test_defaults_follow_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDIS_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings()
    assert (s.stream_raw, s.stream_canonical, s.stream_duplicates, s.stream_dead) == (
        "articles:raw", "articles:canonical", "articles:duplicates", "articles:dead",
    )  # fmt: skip
    assert (s.ingest_port, s.store_port, s.threshold, s.num_perm) == (8000, 8001, 0.5, 128)
    assert s.effective_database_url.startswith("sqlite+aiosqlite:///")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NEWSDEDUP_THRESHOLD", "1.5"),
        ("NEWSDEDUP_NUM_PERM", "many"),
        ("NEWSDEDUP_INGEST_PORT", "70000"),
        ("REDIS_URL", "localhost:6379"),
        ("DATABASE_URL", "mysql://x"),
        ("LOG_FORMAT", "xml"),
    ],
)
def test_a_bad_value_fails_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=f"{variable}: "):
        load_settings()


def test_libpq_database_urls_get_the_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/news")
    assert load_settings().database_url == "postgresql+asyncpg://u:p@db:5432/news"


def test_settings_survive_the_trip_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Settings(redis_url="redis://h:1/0", threshold=0.7, stream_raw="x:raw", num_perm=64)
    for name, value in settings_env(original).items():
        monkeypatch.setenv(name, value)
    assert load_settings() == original


def test_a_bad_url_is_reported_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://news:s3cret@db/news")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "DATABASE_URL" in str(error.value)
    assert "s3cret" not in str(error.value)


def test_a_redis_url_is_shown_without_its_password() -> None:
    from shared.redis import without_password

    assert (
        without_password("redis://default:s3cret@cache:6379/0")
        == "redis://default:***@cache:6379/0"
    )
    assert without_password("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_a_cluster_url_means_a_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis+cluster://a:7000,b:7001")
    assert load_settings().cluster


def test_a_plain_url_is_a_cluster_only_when_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://a:7000")
    assert not load_settings().cluster
    monkeypatch.setenv("NEWSDEDUP_REDIS_CLUSTER", "true")
    assert load_settings().cluster


def test_one_partition_is_the_raw_stream_itself() -> None:
    assert Settings(stream_raw="raw").raw_streams == ["raw"]


def test_partitions_are_the_raw_stream_with_one_hash_tag_each() -> None:
    assert Settings(stream_raw="raw", partitions=3).raw_streams == [
        "raw:{0}", "raw:{1}", "raw:{2}",
    ]  # fmt: skip
