"""The AsyncAPI document describes every stream with its message model."""

from shared.asyncapi import asyncapi_document
from shared.settings import Settings


def test_every_stream_is_described_with_its_writer_and_readers(settings: Settings) -> None:
    channels = asyncapi_document(settings)["channels"]
    addresses = {c["address"] for c in channels.values()}
    assert addresses == {
        settings.stream_raw, settings.stream_canonical, settings.stream_duplicates,
        settings.stream_dead,
    }  # fmt: skip
    titles = set(channels)
    assert f"{settings.stream_raw} → dedupe (group dedupe)" in titles
    assert f"dedupe → {settings.stream_canonical}" in titles


def test_the_message_models_are_in_the_document(settings: Settings) -> None:
    schemas = asyncapi_document(settings)["components"]["schemas"]
    assert {"RawArticle", "Verdict", "DeadLetter"} <= set(schemas)
    assert "story_id" in schemas["Verdict"]["properties"]
