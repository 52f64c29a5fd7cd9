"""Accuracy of the dedupe engine on a labelled corpus of real news and republished copies.

    python -m benchmarks.accuracy [--data PATH] [--per-transformation 150] [--seed 7]

The corpus (``benchmarks.corpus``) goes through the real dedupe engine against a real Redis
(REDIS_URL, or an embedded server started for the run), in ingest order, in stream batches.
Gold duplicate groups: each copy with the article it was made from, plus the pairs of base
articles that already are duplicates by the engine's own definition, computed exactly (Jaccard of
the shingle sets >= threshold, or containment >= the containment threshold), joined transitively.

Stories are scored twice: against a rule-made gold on the English base (same day, shared rare
headline terms), and against people: the SemEval-2022 Task 8 pairs, both sides ingested among
the background articles, each pair's rated relation (same event ... unrelated) against whether
its sides ended in one story. The largest stories are printed with their terms, to read.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks.cluster import EmbeddedCluster
from benchmarks.corpus import (
    DEFAULT_DATA,
    TRANSFORMATIONS,
    Corpus,
    Doc,
    build,
    day_order,
    load_news,
    load_seeds,
    published_at,
)
from benchmarks.footprint import deep_size
from benchmarks.semeval import (
    DEFAULT_GERMAN_PAIRS,
    DEFAULT_PAIRS,
    RatedPair,
    among_themselves,
    interleave,
    load_pairs,
)
from benchmarks.story_gold import adjusted_rand_index, same_event_pairs
from services.dedupe.judge.bands import band_keys
from services.dedupe.judge.judge import Judge
from services.dedupe.service.fold_process import LocalFold
from services.dedupe.service.runner import JudgeRunner
from services.dedupe.text.furniture import strip_boilerplate
from services.dedupe.text.normalize import joined_words, words
from services.dedupe.text.shingles import shingle_hashes, shingles
from services.dedupe.text.signature import Signature, Signer, signer_for
from shared.embedded import EmbeddedRedis
from shared.groups import declare_groups
from shared.ids import new_id
from shared.models import RawArticle, Verdict
from shared.redis import async_client
from shared.settings import Settings
from shared.streams import decode, encode

# -- gold ------------------------------------------------------------------------------------


def shingle_sets(docs: Sequence[Doc], size: int) -> list[set[bytes]]:
    return [set(shingles(words(strip_boilerplate(d.text)), size)) for d in docs]


def similar_pairs(
    sets: Sequence[set[bytes]], jaccard: float, containment: float, min_shingles: int
) -> dict[tuple[int, int], float]:
    """Every pair of sets that is a duplicate pair by exact Jaccard or containment, with its
    exact Jaccard; found through an inverted index, so only pairs sharing a shingle are scored."""
    postings: dict[bytes, list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for g in s:
            postings[g].append(i)
    found: dict[tuple[int, int], float] = {}
    for i, s in enumerate(sets):
        shared: Counter[int] = Counter()
        for g in s:
            shared.update(j for j in postings[g] if j > i)
        for j, inter in shared.items():
            union = len(s) + len(sets[j]) - inter
            smaller = min(len(s), len(sets[j]))
            exact_j = inter / union
            contained = smaller >= min_shingles and inter / smaller >= containment
            if exact_j >= jaccard or contained:
                found[(i, j)] = exact_j
    return found


class Groups:
    """Union-find over document keys."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.parent = {k: k for k in keys}

    def find(self, key: str) -> str:
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)

    def label(self) -> dict[str, str]:
        return {k: self.find(k) for k in self.parent}


# -- metrics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    true_pairs: int
    predicted_pairs: int
    gold_pairs: int

    @property
    def precision(self) -> float:
        return self.true_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_pairs / self.gold_pairs if self.gold_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise(gold: dict[str, str], predicted: dict[str, str]) -> Score:
    """Pairwise precision/recall of duplicate links over two clusterings of the same keys."""
    both = Counter((gold[k], predicted[k]) for k in gold)
    return Score(
        sum(_pairs(n) for n in both.values()),
        sum(_pairs(n) for n in Counter(predicted.values()).values()),
        sum(_pairs(n) for n in Counter(gold.values()).values()),
    )


def pairwise_for(keys: Iterable[str], gold: dict[str, str], predicted: dict[str, str]) -> Score:
    """The links of ``keys`` alone: each key's gold partners against its predicted partners."""
    gold_members: dict[str, set[str]] = defaultdict(set)
    predicted_members: dict[str, set[str]] = defaultdict(set)
    for k in gold:
        gold_members[gold[k]].add(k)
        predicted_members[predicted[k]].add(k)
    tp = pp = gp = 0
    for k in keys:
        g = gold_members[gold[k]] - {k}
        p = predicted_members[predicted[k]] - {k}
        tp, pp, gp = tp + len(g & p), pp + len(p), gp + len(g)
    return Score(tp, pp, gp)


# -- running the engine ----------------------------------------------------------------------

INGESTED_AT = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Memory:
    """What the judge's state holds at the end of a run, all it reaches counted once."""

    index_per_entry: int  # the near-duplicate index, per indexed (canonical) article
    index_own_count: int  # the same by the index's own count of its arrays
    stories_per_canonical: int  # the story index (stories, members, term frequencies)

    @staticmethod
    def of(judge: Judge) -> Memory:
        entries = max(1, len(judge.index))
        canonical = max(1, sum(len(m.story_of) for m in judge.stories.members.values()))
        return Memory(
            deep_size(judge.index) // entries,
            judge.index.nbytes() // entries,
            deep_size(judge.stories) // canonical,
        )


async def judge_all(docs: Sequence[Doc], settings: Settings) -> tuple[dict[str, Verdict], Memory]:
    """Every document through the real judge: XADD in ingest order, judged in batches as the
    dedupe service does (the judge working on the text itself, as no replica does it); with
    what the judge's state held."""
    assert settings.redis_url
    redis = async_client(settings.redis_url, settings.cluster)
    await declare_groups(redis, settings, [*settings.raw_streams, settings.stream_canonical,
                                           settings.stream_duplicates])  # fmt: skip
    keys_by_id: dict[str, str] = {}
    for start in range(0, len(docs), 500):
        chunk = docs[start : start + 500]
        async with redis.pipeline(transaction=False) as pipe:
            for doc in chunk:
                article = RawArticle(
                    id=new_id(), url=doc.url, canonical_url=doc.url, title=doc.title,
                    source=doc.source, ingested_at=INGESTED_AT, text=doc.text,
                    published_at=published_at(doc.day),
                    content_sha256="-",
                )  # fmt: skip
                keys_by_id[article.id] = doc.key
                pipe.xadd(settings.stream_raw, encode(article))
            await pipe.execute()
    fold = LocalFold(settings)
    runner = JudgeRunner.on(redis, settings, fold)
    judging = asyncio.create_task(runner.run())
    streams = (settings.stream_canonical, settings.stream_duplicates)
    while sum([await redis.xlen(s) for s in streams]) < len(docs):
        assert not judging.done(), judging
        await asyncio.sleep(0.05)
    memory = Memory.of(fold.fold.state.judge)
    await runner.stop()
    await judging
    verdicts: dict[str, Verdict] = {}
    for stream in streams:
        published: Any = await redis.xrange(stream)
        for _, fields in published:
            verdict = decode(Verdict, fields)
            verdicts[keys_by_id[verdict.id]] = verdict
    await redis.aclose()
    # Canonical and story ids as document keys, so they compare with the gold groups.
    return {
        key: v.model_copy(
            update={
                "canonical_id": keys_by_id[v.canonical_id],
                "story_id": keys_by_id.get(v.story_id, v.story_id),
            }
        )
        for key, v in verdicts.items()
    }, memory


# -- report ----------------------------------------------------------------------------------


def signature_of(doc: Doc, signer: Signer) -> Signature:
    return signer.sign_hashes(
        shingle_hashes(joined_words(strip_boilerplate(doc.text)), signer.params.shingle_size)
    )


def lsh_recall(
    docs: Sequence[Doc], pairs: Iterable[tuple[int, int]], signer: Signer
) -> tuple[int, int]:
    """Of the pairs with exact Jaccard >= threshold, how many share an LSH bucket."""
    buckets = [band_keys(signature_of(d, signer), signer.bands, signer.rows) for d in docs]
    pairs = list(pairs)
    found = sum(bool(np.any(buckets[i] == buckets[j])) for i, j in pairs)
    return found, len(pairs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--pairs", type=Path, default=DEFAULT_PAIRS, help="SemEval-2022 Task 8 English pairs"
    )
    parser.add_argument("--german-pairs", type=Path, default=DEFAULT_GERMAN_PAIRS,
                        help="SemEval-2022 Task 8 German pairs")  # fmt: skip
    parser.add_argument("--per-transformation", type=int, default=150)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--spot-check", type=int, default=0, metavar="N", help="print N gold story pairs to read"
    )
    parser.add_argument("--cluster", action="store_true",
                        help="run on an embedded 3-master Redis Cluster")  # fmt: skip
    args = parser.parse_args(argv)
    console = Console(width=110)  # tables and story lines unwrapped in a log as on a screen
    try:
        news, seeds = load_news(args.data), load_seeds()
        rated, pairs = load_pairs(args.pairs)
        german = load_pairs(args.german_pairs, prefix="semeval-de")
    except FileNotFoundError as missing:
        console.print(f"[red]{missing}[/red]")
        return 2
    base = news + seeds
    stream = interleave(news, rated, pairs, random.Random(args.seed)) + seeds
    corpus = build(base, args.per_transformation, args.seed, stream)
    with tempfile.TemporaryDirectory() as tmp:
        server: EmbeddedRedis | EmbeddedCluster | None = None
        if args.cluster:
            server = EmbeddedCluster(Path(tmp)).start()
        elif not os.environ.get("REDIS_URL"):
            server = EmbeddedRedis(Path(tmp), appendonly=False).start()
        try:
            tag = f"bench{time.time_ns()}"
            settings = Settings(
                redis_url=os.environ.get("REDIS_URL") or (server.url if server else None),
                data_dir=Path(tmp),
                key_prefix=tag,
                stream_raw=f"{tag}:raw",
                stream_canonical=f"{tag}:canonical",
                stream_duplicates=f"{tag}:duplicates",
            )
            report(console, corpus, base, rated, pairs, settings, args.spot_check)
            german_stream = among_themselves(*german, random.Random(args.seed), "2020/4/24")
            report_german(console, german_stream + seeds, german[1], settings)
        finally:
            if server is not None:
                server.stop()
    return 0


def report(
    console: Console,
    corpus: Corpus,
    base: list[Doc],
    rated: list[Doc],
    pairs: list[RatedPair],
    settings: Settings,
    spot_check: int,
) -> None:
    started = time.perf_counter()
    originals = base + rated
    sets = shingle_sets(originals, settings.shingle_size)
    gold_base = similar_pairs(
        sets, settings.threshold, settings.containment_threshold, settings.containment_min_shingles
    )
    groups = Groups(d.key for d in corpus.docs)
    for i, j in gold_base:
        groups.join(originals[i].key, originals[j].key)
    for copies in corpus.copies.values():
        for copy in copies:
            assert copy.base is not None
            groups.join(copy.key, copy.base)
    gold = groups.label()

    verdicts, memory = asyncio.run(judge_all(corpus.docs, settings))
    elapsed = time.perf_counter() - started
    predicted = {k: v.canonical_id for k, v in verdicts.items()}

    table = Table(title=f"dedupe accuracy: {len(corpus.docs)} articles ({len(base)} base)")
    for column in ("links", "n", "precision", "recall", "F1"):
        table.add_column(column, justify="right" if column != "links" else "left")
    overall = pairwise(gold, predicted)
    table.add_row("all", str(len(gold)), f"{overall.precision:.4f}", f"{overall.recall:.4f}",
                  f"{overall.f1:.4f}")  # fmt: skip
    for name in TRANSFORMATIONS:
        keys = [c.key for c in corpus.copies[name]]
        score = pairwise_for(keys, gold, predicted)
        table.add_row(name, str(len(keys)), f"{score.precision:.4f}", f"{score.recall:.4f}",
                      f"{score.f1:.4f}")  # fmt: skip
    console.print(table)
    texts = {d.key: d.text for d in corpus.docs}
    for name in TRANSFORMATIONS:
        missed = [c for c in corpus.copies[name] if predicted[c.key] != predicted[c.base or ""]]
        for copy in missed[:3]:
            v = verdicts[copy.key]
            console.print(
                f"  missed {name}: {copy.key} ({len(copy.text.split())} words) judged "
                f"{v.status} {v.canonical_id} {v.measure or ''} {v.similarity or ''}; base has "
                f"{len(texts[copy.base or ''].split())} words"
            )

    singles = Counter(gold.values())
    different = [d.key for d in base if singles[gold[d.key]] == 1]
    false_dups = [k for k in different if verdicts[k].status == "duplicate"]
    console.print(
        f"false duplicates among {len(different)} base articles with no true duplicate: "
        f"{len(false_dups)} ({len(false_dups) / len(different):.3%})"
    )
    for key in false_dups[:10]:
        v = verdicts[key]
        console.print(f"  {key} -> {v.canonical_id} ({v.measure} {v.similarity})")
    seeds = [d.key for d in base if d.key.startswith("seed:")]
    seed_dups = sum(verdicts[k].status == "duplicate" for k in seeds)
    console.print(f"seeds marked duplicates: {seed_dups} of {len(seeds)}")
    console.print(f"true duplicate pairs among base articles: {len(gold_base)}")
    report_rated(console, rated, pairs, sets[len(base) :], predicted, settings)

    at_threshold = [p for p, j in gold_base.items() if j >= settings.threshold]
    found, total = lsh_recall(originals, at_threshold, signer_for(settings))
    console.print(
        f"LSH recall vs exact all-pairs Jaccard >= {settings.threshold}: {found}/{total}"
        + (f" = {found / total:.4f}" if total else "")
    )
    console.print(
        f"judge memory: dedupe index {memory.index_per_entry:,} B per indexed (canonical) "
        f"article, all it holds (its own count of its arrays: {memory.index_own_count:,}; "
        "target ≤ 4,096)"
    )
    console.print(f"{len(corpus.docs)} articles judged in {elapsed:.1f} s (incl. gold computation)")
    report_stories(console, base, verdicts, spot_check)
    report_rated_stories(console, pairs, verdicts, ENGLISH)
    console.print(
        f"story index memory: {memory.stories_per_canonical:,} B per canonical article "
        f"(target ≤ {STORY_MEMORY_TARGET:,})"
    )
    report_largest_stories(console, [d for d in corpus.docs if d.base is None], verdicts)


def report_german(
    console: Console, stream: list[Doc], pairs: list[RatedPair], settings: Settings
) -> None:
    """The German pairs, ingested among themselves with the seeds after them: how the stories
    agree with people, the seeds' story, and the largest stories."""
    tag = f"de{time.time_ns()}"
    german = settings.model_copy(update={
        "key_prefix": tag, "stream_raw": f"{tag}:raw", "stream_canonical": f"{tag}:canonical",
        "stream_duplicates": f"{tag}:duplicates",
    })  # fmt: skip
    verdicts, _ = asyncio.run(judge_all(stream, german))
    console.print(f"German stream: {len(stream)} articles (the German pairs' own, then the seeds)")
    report_seeds(console, stream, verdicts)
    report_rated_stories(console, pairs, verdicts, GERMAN)
    report_largest_stories(console, stream, verdicts)


def report_rated(
    console: Console,
    rated: list[Doc],
    pairs: list[RatedPair],
    sets: list[set[bytes]],
    predicted: dict[str, str],
    settings: Settings,
) -> None:
    """The human-rated pairs as negatives: two different articles, however close their story,
    are never duplicates unless their texts are copies by the exact measure."""
    shingled = {d.key: s for d, s in zip(rated, sets, strict=True)}
    copies, marked = [], []
    for pair in pairs:
        a, b = shingled[pair.first], shingled[pair.second]
        common = len(a & b)
        exact_j = common / len(a | b) if a | b else 1.0
        smaller = min(len(a), len(b))
        contained = common / smaller if smaller >= settings.containment_min_shingles else 0.0
        copy = exact_j >= settings.threshold or contained >= settings.containment_threshold
        if copy:
            copies.append(f"{pair.pair_id} (Jaccard {exact_j:.2f}, containment {contained:.2f})")
        if predicted[pair.first] == predicted[pair.second] and not copy:
            marked.append(f"{pair.pair_id} (overall {pair.overall}, Jaccard {exact_j:.2f})")
    console.print(
        f"SemEval pairs ({len(pairs)} human-rated pairs, {len(rated)} articles): copies by the "
        f"exact measure {len(copies)}: {', '.join(copies) or '-'}; other pairs marked "
        f"duplicates: {len(marked)}" + (f" ({', '.join(marked[:10])})" if marked else "")
    )


def report_stories(
    console: Console, base: list[Doc], verdicts: dict[str, Verdict], spot_check: int
) -> None:
    english = [d for d in base if d.key.startswith("en:")]
    pairs = same_event_pairs(english)
    groups = Groups(d.key for d in english)
    for i, j in pairs:
        groups.join(english[i].key, english[j].key)
    gold = groups.label()
    predicted = {d.key: verdicts[d.key].story_id for d in english}
    score = pairwise(gold, predicted)
    # The gold only links articles of one day; a story running over several days (an election
    # week) counts as wrong links across its days. Its links within one day, scored alone:
    same_day = pairwise(gold, {d.key: f"{predicted[d.key]}@{d.day}" for d in english})
    console.print(
        f"stories, English base ({len(english)} articles, {len(pairs)} same-event pairs by the "
        f"same-day headline/lead rule, {len(set(gold.values()))} gold groups, "
        f"{len(set(predicted.values()))} stories): pairwise precision {score.precision:.4f}, "
        f"recall {score.recall:.4f}, F1 {score.f1:.4f}, ARI "
        f"{adjusted_rand_index(gold, predicted):.4f}; links within one day: precision "
        f"{same_day.precision:.4f}, recall {same_day.recall:.4f}, F1 {same_day.f1:.4f}"
    )
    report_seeds(console, base, verdicts)
    rng = random.Random(1)
    for i, j in rng.sample(pairs, min(spot_check, len(pairs))):
        console.print(
            f"  gold, same event? {english[i].day} | {english[i].title} | {english[j].title}"
        )
    by_story_day: dict[str, list[Doc]] = defaultdict(list)
    for d in english:
        by_story_day[f"{predicted[d.key]}@{d.day}"].append(d)
    unmatched = [
        (a, b)
        for members in by_story_day.values()
        for a, b in itertools.combinations(members, 2)
        if gold[a.key] != gold[b.key]
    ]
    for a, b in rng.sample(unmatched, min(spot_check, len(unmatched))):
        console.print(f"  engine only, same event? {a.day} | {a.title} | {b.title}")


def report_seeds(console: Console, stream: list[Doc], verdicts: dict[str, Verdict]) -> None:
    """Whether the five seeds make one story, and which other articles joined it."""
    seeds = [d.key for d in stream if d.key.startswith("seed:")]
    seed_stories = {verdicts[k].story_id for k in seeds}
    intruders = [
        k
        for k, v in verdicts.items()
        if v.story_id in seed_stories and not k.split("/")[0].startswith("seed:")
    ]
    console.print(
        f"seeds (after {stream.index(next(d for d in stream if d.key in seeds))} background "
        f"articles): {len(seed_stories)} story; unrelated articles in it: {len(intruders)}"
        + (f" ({', '.join(intruders[:5])})" if intruders else "")
    )


# Ranks of the raters' mean ``overall`` score, 1 = the same event ... 4 = unrelated: pairs rated
# at most 1.5 are the same event, at least 3.5 different events, the rest between.
RANKS = ((1.0, 1.5, "same event"), (1.5, 2.5, ""), (2.5, 3.5, ""), (3.5, 4.0, "different"))
STORY_MEMORY_TARGET = 2048  # bytes per canonical article


@dataclass(frozen=True)
class Language:
    name: str
    together: float  # the target share of the pairs rated the same event in one story
    apart: float  # the target share of the pairs rated different in different stories


ENGLISH = Language("English", together=0.85, apart=0.97)
# The German texts are short excerpts, a third with machine-translation artefacts.
GERMAN = Language("German", together=0.70, apart=0.95)


def rank_of(overall: float) -> int:
    """The index in RANKS of a rating."""
    if overall <= RANKS[0][1]:
        return 0
    if overall >= RANKS[-1][0]:
        return len(RANKS) - 1
    return 1 if overall <= RANKS[1][1] else 2


def report_rated_stories(
    console: Console, pairs: Sequence[RatedPair], verdicts: dict[str, Verdict], language: Language
) -> None:
    """How the stories agree with people: the human-rated pairs, ingested among the background
    articles, by their rank."""
    together: list[list[bool]] = [[] for _ in RANKS]
    for pair in pairs:
        one_story = verdicts[pair.first].story_id == verdicts[pair.second].story_id
        together[rank_of(pair.overall)].append(one_story)
    table = Table(
        title=f"stories against {len(pairs)} human-rated {language.name} pairs "
        "(SemEval-2022 Task 8)"
    )
    for column in ("overall", "pairs", "in one story", "apart", "target"):
        table.add_column(column, justify="left" if column == "overall" else "right")
    for (low, high, name), ranked in zip(RANKS, together, strict=True):
        share = sum(ranked) / len(ranked) if ranked else 0.0
        target = ""
        if name == "same event":
            met = share >= language.together
            target = f"together ≥ {language.together}: {'met' if met else 'not met'}"
        elif name == "different":
            met = 1 - share >= language.apart
            target = f"apart ≥ {language.apart}: {'met' if met else 'not met'}"
        bounds = f"{low}–{high}" + (f" ({name})" if name else "")
        table.add_row(bounds, str(len(ranked)), f"{share:.4f}", f"{1 - share:.4f}", target)
    console.print(table)


def report_largest_stories(
    console: Console, originals: Sequence[Doc], verdicts: dict[str, Verdict], count: int = 10
) -> None:
    """The largest stories of the original articles, with their top terms and a few titles, to
    read: a story that chained several events together shows here whatever the pair figures."""
    members: dict[str, list[Doc]] = defaultdict(list)
    for doc in originals:
        members[verdicts[doc.key].story_id].append(doc)
    largest = sorted(members.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:count]
    console.print(f"largest stories ({len(members)} stories of {sum(map(len, members.values()))} "
                  "original articles):")  # fmt: skip
    for _, docs in largest:
        terms = next(
            (verdicts[d.key].story_terms for d in reversed(docs) if verdicts[d.key].story_terms),
            [],
        )
        days = sorted({d.day for d in docs if d.day}, key=day_order)
        span = f"{days[0]}–{days[-1]}" if days else "-"
        console.print(
            f"  {len(docs)} articles, {len({d.source for d in docs})} outlets, {span}: "
            f"{' '.join(terms[:8])}"
        )
        for doc in docs[:: max(1, len(docs) // 4)][:4]:
            console.print(f"    {doc.key}: {(doc.title or doc.text)[:90]}")


if __name__ == "__main__":
    sys.exit(main())
