"""Corpora of articles that share much of their text without being copies: what makes a
judge's work grow with its index when candidates are verified without a bound.

- ``shared_sentences``: each article is 22 sentences drawn at random from one pool (the
  sentences of the five seeds longer than 40 characters, 156 of them); 30% of the articles are
  an earlier article with 5% of its words replaced by other words of it (near duplicates).
- ``templated``: reports filled in from one template (a football match report) with other
  teams, players, venues and numbers; 30% are an earlier report with 5% of its words replaced.
- ``news_sentences``: for contrast, articles of 20 sentences drawn from all the sentences of the
  English news corpus, which rarely share one; 30% edited copies likewise.

Both are made from a seed, without network, and every article has a source and URL of its own.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from benchmarks.corpus import Doc, load_news, load_seeds

ARTICLE_SENTENCES = 22
COPY_SHARE = 0.3
EDIT_SHARE = 0.05
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def sentence_pool(seeds: list[Doc]) -> list[str]:
    """The seeds' sentences longer than 40 characters, each once, in their order."""
    seen: dict[str, None] = {}
    for doc in seeds:
        for line in doc.text.splitlines():
            for sentence in _SENTENCE.split(line.strip()):
                if len(sentence) > 40:
                    seen.setdefault(sentence, None)
    return list(seen)


def _edited(text: str, rng: random.Random) -> str:
    """``EDIT_SHARE`` of the words replaced by other words of the same text."""
    words = text.split(" ")
    for position in rng.sample(range(len(words)), max(1, round(len(words) * EDIT_SHARE))):
        words[position] = rng.choice(words)
    return " ".join(words)


def _with_copies(texts: list[str], name: str, rng: random.Random) -> list[Doc]:
    """The texts as articles, ``COPY_SHARE`` of the stream being edited copies of earlier ones."""
    docs: list[Doc] = []
    originals = iter(texts)
    while True:
        n = len(docs)
        if docs and rng.random() < COPY_SHARE:
            base = rng.choice([d for d in docs[-2_000:] if d.base is None])
            text, origin = _edited(base.text, rng), base.key
        else:
            text = next(originals, "")
            if not text:
                return docs
            origin = None
        docs.append(Doc(f"{name}:{n}", text, f"https://{name}.example/{n}", f"outlet{n % 50}",
                        base=origin, transformation="edited" if origin else None))  # fmt: skip


def shared_sentences(count: int, seed: int) -> list[Doc]:
    rng = random.Random(seed)
    pool = sentence_pool(load_seeds())
    texts = [" ".join(rng.choices(pool, k=ARTICLE_SENTENCES)) for _ in range(count)]
    return _with_copies(texts, "shared", rng)[:count]


_TEAMS = [f"{town} {kind}" for town in ("Ashford", "Bramley", "Carlton", "Dunmore", "Elmstead",
          "Fairview", "Granton", "Hollis", "Ivybridge", "Kelso", "Lanark", "Marston")
          for kind in ("United", "City", "Rovers", "Athletic")]  # fmt: skip
_NAMES = [f"{first} {last}" for first in ("Tom", "Ali", "Jan", "Luca", "Sam", "Omar", "Ben",
          "Kai", "Noah", "Leo") for last in ("Hart", "Okafor", "Novak", "Rossi", "Berg", "Silva",
          "Moreau", "Kowalski", "Hughes", "Lindqvist")]  # fmt: skip
_TEMPLATE = (
    "{home} beat {away} {hg}-{ag} at {venue} on {day} in front of a crowd of {crowd}. "
    "{scorer1} opened the scoring after {m1} minutes with a low shot from the edge of the "
    "area, and {scorer2} doubled the lead {m2} minutes later. {away} pulled one back through "
    "{scorer3} shortly before half-time. After the break {home} controlled the game, and "
    "{scorer4} settled it in the {m4}th minute. {keeper} made {saves} saves for {away}. "
    '"We worked hard all week for this," said {home} manager {manager1}. "The players did '
    'everything we asked of them." {manager2}, in charge of {away}, said his side had '
    "conceded too easily. {home} move up to {pos1} in the table with {pts1} points, while "
    "{away} stay {pos2} on {pts2}. {home} travel to {next_away} on {next_day}; {away} host "
    "{next_home} the same weekend. The referee was {referee}, who showed {cards} yellow cards."
)
_DAYS = ("Saturday", "Sunday", "Tuesday", "Wednesday", "Friday")


def templated(count: int, seed: int) -> list[Doc]:
    rng = random.Random(seed)

    def report() -> str:
        home, away, next_away, next_home = rng.sample(_TEAMS, 4)
        names = rng.sample(_NAMES, 8)
        return _TEMPLATE.format(
            home=home, away=away, hg=rng.randint(2, 5), ag=rng.randint(0, 1),
            venue=f"{home.split()[0]} Park", day=rng.choice(_DAYS),
            crowd=f"{rng.randint(2, 40)},{rng.randint(100, 999)}",
            scorer1=names[0], scorer2=names[1], scorer3=names[2], scorer4=names[3],
            m1=rng.randint(2, 30), m2=rng.randint(2, 12), m4=rng.randint(60, 89),
            keeper=names[4], saves=rng.randint(2, 9), manager1=names[5], manager2=names[6],
            pos1=f"{rng.randint(1, 20)}th", pts1=rng.randint(10, 60),
            pos2=f"{rng.randint(1, 20)}th", pts2=rng.randint(10, 60),
            next_away=next_away, next_home=next_home, next_day=rng.choice(_DAYS),
            referee=names[7], cards=rng.randint(1, 7),
        )  # fmt: skip

    return _with_copies([report() for _ in range(count)], "templated", rng)[:count]


def news_sentences(count: int, seed: int, data: Path) -> list[Doc]:
    rng = random.Random(seed)
    pool = sentence_pool(load_news(data))
    texts = [" ".join(rng.choices(pool, k=20)) for _ in range(count)]
    return _with_copies(texts, "news", rng)[:count]


KINDS = {"news": news_sentences, "shared": shared_sentences, "templated": templated}
