"""HTML to article text: what a reader sees as the article, without page furniture."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

_FURNITURE = ("script", "style", "nav", "header", "footer", "aside", "noscript", "form", "iframe")
_BLOCKS = (
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul",
    "ol", "blockquote", "pre", "tr", "table", "figcaption", "dd", "dt",
)  # fmt: skip
_BLANKS = re.compile(r"[ \t\r\f\v\u00a0]+")
# "Headline | Site", "Headline – Site", "Headline - Site", "Headline · Site": the last part.
_SITE_SUFFIX = re.compile(r"\s+[|–—·-]\s+[^|–—·]+$")


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


def _without_site(title: str, site: str | None) -> str:
    """A page title without the site's name that pages append to it: the name the page
    declares (``og:site_name``), else a last part after a separator."""
    if site and title.endswith(site):
        rest = title[: -len(site)].rstrip()
        if rest[-1:] in ("|", "–", "—", "·", "-"):
            return rest[:-1].rstrip() or title
    if site is None:
        return _SITE_SUFFIX.sub("", title) or title
    return title


def _title(soup: BeautifulSoup) -> str | None:
    """The article's headline: the social title (which carries no site name), else the
    article's first ``<h1>``, else the page title without the site's name."""
    social = _first_attr(soup, "meta", {"property": "og:title"}, "content")
    if social:
        return social
    heading = (soup.find("article") or soup).find("h1")
    if isinstance(heading, Tag) and heading.get_text(strip=True):
        return _BLANKS.sub(" ", heading.get_text(" ", strip=True))
    if soup.title and soup.title.string and soup.title.string.strip():
        site = _first_attr(soup, "meta", {"property": "og:site_name"}, "content")
        return _without_site(soup.title.string.strip(), site)
    return None


def _block_text(root: Tag) -> str:
    """Text with a line break around every block element, in one pass over the tree.

    One linear walk: editing the tree per block (appending separators) is quadratic on deeply
    nested markup, which is exactly what a hostile page sends.
    """
    parts: list[str] = []
    for node in root.descendants:
        if isinstance(node, Tag):
            if node.name in _BLOCKS or node.name == "br":
                parts.append("\n")
        elif type(node) is NavigableString:  # not comments, doctypes or CDATA
            previous = node.previous_sibling
            if isinstance(previous, Tag) and previous.name in _BLOCKS:
                parts.append("\n")
            parts.append(str(node))
    return "".join(parts)


def extract(html: str, base_url: str | None = None) -> Extracted:
    """Text of the ``<article>`` (or the body when there is none), one line per block."""
    soup = BeautifulSoup(html, "lxml")
    title = _title(soup)
    canonical = _first_attr(soup, "link", {"rel": "canonical"}, "href")
    if canonical and base_url:
        canonical = urljoin(base_url, canonical)
    for tag in soup(_FURNITURE):
        tag.decompose()
    if soup.title:
        soup.title.decompose()
    root = soup.find("article") or soup.body or soup
    raw = _block_text(root)
    lines = (_BLANKS.sub(" ", line).strip() for line in raw.splitlines())
    return Extracted(
        text="\n".join(line for line in lines if line), title=title, canonical_link=canonical
    )
