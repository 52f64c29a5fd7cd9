"""HTML to article text: what a reader sees as the article, without page furniture."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag

_FURNITURE = ("script", "style", "nav", "header", "footer", "aside", "noscript", "form", "iframe")
_BLOCKS = (
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul",
    "ol", "blockquote", "pre", "tr", "table", "figcaption", "dd", "dt",
)  # fmt: skip
_BLANKS = re.compile(r"[ \t\r\f\v\u00a0]+")


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str | None
    canonical_link: str | None


def _first_attr(soup: BeautifulSoup, name: str, attrs: dict[str, Any], attr: str) -> str | None:
    tag = soup.find(name, attrs=attrs)
    if isinstance(tag, Tag):
        value = tag.get(attr)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def extract(html: str, base_url: str | None = None) -> Extracted:
    """Text of the ``<article>`` (or the body when there is none), one line per block."""
    soup = BeautifulSoup(html, "lxml")
    title = _first_attr(soup, "meta", {"property": "og:title"}, "content")
    if title is None and soup.title and soup.title.string:
        title = soup.title.string.strip() or None
    canonical = _first_attr(soup, "link", {"rel": "canonical"}, "href")
    if canonical and base_url:
        canonical = urljoin(base_url, canonical)
    for tag in soup(_FURNITURE):
        tag.decompose()
    if soup.title:
        soup.title.decompose()
    root = soup.find("article") or soup.body or soup
    for br in root.find_all("br"):
        br.replace_with("\n")
    for block in root.find_all(_BLOCKS):
        block.append("\n")
    raw = root.get_text()
    lines = (_BLANKS.sub(" ", line).strip() for line in raw.splitlines())
    return Extracted(
        text="\n".join(line for line in lines if line), title=title, canonical_link=canonical
    )
