"""The store's web page in a real browser: Debian's Chromium, driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from playwright.sync_api import sync_playwright

from services.stack import Stack
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


@pytest.fixture
def stored(redis_url: str, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    settings = isolated_settings(redis_url, tmp_path / "data", store_port=0)
    stack = Stack(settings)
    try:
        stack.start_redis()
        stack.start_service("store")
        original = raw_article(WIRE, title="Rubio trifft Lawrow in Riad", source="wire")
        copy = raw_article(COPY, title="Treffen in Riyadh", source="kreisblatt")
        client = redis.Redis.from_url(redis_url)
        client.xadd(
            settings.stream_canonical,
            encode(verdict(original, story_terms=["riad", "rubio", "lawrow"])),
        )
        client.xadd(settings.stream_duplicates,
                    encode(verdict(copy, original.id, "near", 0.83)))  # fmt: skip
        client.close()
        url = stack.url("store")
        wait_until(lambda: httpx.get(url + "/stats").json(), lambda s: s["articles"] == 2)
        yield url, original.id, copy.id
    finally:
        stack.stop()


def test_the_page_lists_stories_and_shows_a_duplicate_beside_its_article(
    stored: tuple[str, str, str], tmp_path: Path
) -> None:
    url, original, _ = stored
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "/")
        page.wait_for_selector(".story")
        assert "riad" in page.inner_text("#stories")
        page.click(".story")
        page.click(".coverage a")
        page.wait_for_selector(".pair mark")
        marked = page.locator(".pair mark").all_inner_texts()
        assert "Riad." in marked and "Riyadh." in marked
        assert "Kreisblatt Oberland" in marked  # the copy's added header
        assert page.url.endswith(f"?article={original}")
        # Article text is shown as text: the copy's "<b>" is visible, not bold markup.
        assert "<b>fett</b>" in page.inner_text(".pair")
        assert page.locator(".pair b").count() == 0
        shot = Path(os.environ.get("NEWSDEDUP_SCREENSHOT", tmp_path / "page.png"))
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.stat().st_size > 10_000
