"""The store's web page in a real browser: Debian's Chromium, driven by Playwright."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from playwright.sync_api import Browser, Page, sync_playwright

from services.cli.stack import Stack
from shared.streams import encode
from tests.conftest import isolated_settings
from tests.factories import raw_article, verdict
from tests.waiting import wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)

WIRE = (
    "Die Außenminister Rubio und Lawrow trafen sich am Dienstag in Riad. Beide Seiten "
    "vereinbarten weitere Gespräche über ein Ende des Krieges in der Ukraine."
)
COPY = "Kreisblatt Oberland\n" + WIRE.replace("Riad", "Riyadh") + "\nQuelle: dpa <b>fett</b>"
# A copy of the copy: it matched the Kreisblatt's version, not the wire's.
RECOPY = COPY.replace("Kreisblatt Oberland", "Oberland-Bote")
KEY = "k-read-page"
ISO_SPAN = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC – \d{4}-\d\d-\d\d \d\d:\d\d UTC")


@dataclass
class Stored:
    url: str
    story: str
    original: str
    copy: str
    recopy: str


def _store(redis_url: str, data: Path, **overrides: str) -> Iterator[Stored]:
    settings = isolated_settings(redis_url, data, store_port=0, **overrides)
    stack = Stack(settings)
    try:
        stack.start_redis()
        stack.start_service("store")
        original = raw_article(WIRE, "https://wire.example/riad", source="wire")
        copy = raw_article(COPY, "https://kreisblatt.example/riyadh", title="Treffen in Riyadh",
                           source="kreisblatt")  # fmt: skip
        recopy = raw_article(RECOPY, "https://bote.example/riyadh", source="bote")
        client = redis.Redis.from_url(redis_url)
        client.xadd(settings.stream_canonical,
                    encode(verdict(original, story_terms=["riad", "rubio", "lawrow"])))  # fmt: skip
        client.xadd(settings.stream_duplicates,
                    encode(verdict(copy, original.id, "near", 0.83)))  # fmt: skip
        exact = verdict(recopy, original.id, "exact", 1.0, matched_id=copy.id)
        client.xadd(settings.stream_duplicates, encode(exact))
        client.close()
        url = stack.url("store")
        headers = {"Authorization": f"Bearer {KEY}"}
        wait_until(lambda: httpx.get(url + "/stats", headers=headers).json(),
                   lambda s: s.get("articles") == 3)  # fmt: skip
        yield Stored(url, original.id, original.id, copy.id, recopy.id)
    finally:
        stack.stop()


@pytest.fixture
def stored(redis_url: str, tmp_path: Path) -> Iterator[Stored]:
    yield from _store(redis_url, tmp_path / "data")


@pytest.fixture
def guarded(redis_url: str, tmp_path: Path) -> Iterator[Stored]:
    yield from _store(redis_url, tmp_path / "data", read_api_keys=KEY)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def _page(browser: Browser) -> Page:
    return browser.new_page(viewport={"width": 1280, "height": 900}, locale="de-DE")


def test_a_story_reads_as_headlines_with_its_counts_span_and_links(
    stored: Stored, browser: Browser
) -> None:
    page = _page(browser)
    page.goto(stored.url + "/")
    page.wait_for_selector(".story")
    # The wire article has no title: its first sentence heads the story.
    assert page.inner_text(".story .headline") == (
        "Die Außenminister Rubio und Lawrow trafen sich am Dienstag in Riad."
    )
    meta = page.inner_text(".story .meta")
    assert "1 article (2 duplicates) · 3 outlets · " in meta
    assert ISO_SPAN.search(meta), meta  # ISO dates, whatever the browser's locale
    page.click(".story")
    page.wait_for_selector(".coverage a.article")
    assert page.url.endswith(f"?story={stored.story}")  # a story has an address of its own
    assert page.get_attribute(".coverage a.url", "href") == "https://wire.example/riad"
    # Opened at its own address, the story shows its coverage at once.
    again = _page(browser)
    again.goto(f"{stored.url}/?story={stored.story}")
    again.wait_for_selector(".coverage a.article")
    assert again.inner_text(".coverage a.article").startswith("Die Außenminister Rubio")


def test_each_duplicate_is_shown_beside_the_article_it_matched(
    stored: Stored, browser: Browser, tmp_path: Path
) -> None:
    page = _page(browser)
    page.goto(stored.url + "/")
    page.click(".story")
    page.click(".coverage a.article")
    page.wait_for_selector(".pair >> nth=1")
    assert page.url.endswith(f"?article={stored.original}")
    verdicts = page.locator(".verdict").all_inner_texts()
    pairs = page.locator(".pair").all_inner_texts()
    assert verdicts == ["near by jaccard 0.83", "exact 1.00"]
    # The near copy beside the wire article: the changed passages marked on both sides.
    marked = page.locator(".pair >> nth=0").locator("mark").all_inner_texts()
    assert "Riad." in marked and "Riyadh." in marked and "Kreisblatt Oberland" in marked
    # The exact copy beside the copy it matched (the Kreisblatt's), not beside the wire.
    assert "Treffen in Riyadh (kreisblatt, duplicate)" in pairs[1]
    assert "(wire, canonical)" not in pairs[1]
    # Without a title, an article is known by its first sentence.
    assert page.inner_text("#article h2").startswith("Die Außenminister Rubio und Lawrow")
    # Article text is shown as text: the copy's "<b>" is visible, not bold markup.
    assert "<b>fett</b>" in pairs[0] and page.locator(".pair b").count() == 0
    shot = Path(os.environ.get("NEWSDEDUP_SCREENSHOT", tmp_path / "page.png"))
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_with_read_keys_set_the_page_asks_for_the_key_and_keeps_it_for_the_tab(
    guarded: Stored, browser: Browser
) -> None:
    page = _page(browser)
    page.goto(guarded.url + "/")
    page.wait_for_selector("#key:not([hidden])")
    assert "needs a key" in page.inner_text("#key")
    page.fill("#key input", "wrong")
    page.click("#key button")
    page.wait_for_selector("#key-error:has-text('refused')")
    page.fill("#key input", KEY)
    page.click("#key button")
    page.wait_for_selector(".story")
    assert page.locator("#key").is_hidden()
    page.reload()  # the same tab keeps the key
    page.wait_for_selector(".story")
    # The key given in the address's fragment works too, and leaves the address.
    other = browser.new_page()
    other.goto(f"{guarded.url}/#key={KEY}")
    other.wait_for_selector(".story")
    assert "#" not in other.url
