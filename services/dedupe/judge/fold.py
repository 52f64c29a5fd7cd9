"""The judge's fold: its state (``JudgeState``) and everything CPU-bound the judge does to it,
without I/O.

``Fold`` judges a batch (with the text work no replica did), replays journal entries, and loads
and dumps the whole state. It takes bytes and gives bytes: raw entries' JSON and feature records
in; the batch's journal entry and its verdicts out. The service runs it in a process of its own
(``service.fold_process``).
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError

from services.dedupe.judge.config import JudgeConfig
from services.dedupe.judge.judge import Article, Judge, Judged, Refeature
from services.dedupe.text.features import (
    TextWork,
    decode_features,
    encode_features,
    url_key,
)
from services.dedupe.text.signature import Signer
from shared.ids import id_time_ms
from shared.models import RawArticle, Verdict
from shared.settings import Settings
from shared.streams import stream_id


@dataclass(frozen=True)
class Outgoing:
    """A verdict, as it goes on its stream."""

    stream: str  # a verdict stream
    payload: bytes


@dataclass(frozen=True)
class Judgement:
    """One article as the journal keeps it: enough to fold it into the state again."""

    stream: str
    message_id: str
    article: Article
    features: bytes  # ``features.encode_features`` of the features as judged


@dataclass
class JudgeState:
    """The judge and the last entry it judged in each raw stream."""

    judge: Judge
    positions: dict[str, str] = field(default_factory=dict)

    def has_judged(self, stream: str, message_id: str) -> bool:
        position = self.positions.get(stream)
        return position is not None and stream_id(message_id) <= stream_id(position)

    def replay(self, judgements: Sequence[Judgement]) -> None:
        for j in judgements:
            self.judge.judge(j.article, decode_features(j.features))
            self.positions[j.stream] = j.message_id


@dataclass(frozen=True)
class Fresh:
    """An entry to judge, as ``Fold.prepare`` names it: its feature record's place."""

    stream: str
    article_id: str


@dataclass(frozen=True)
class Folded:
    """A judged batch, ready to commit."""

    journal: bytes  # the judgements, pickled, as the journal keeps them
    outgoing: list[Outgoing]  # the verdicts, in the order judged
    counted: Sequence[tuple[str, str, str]]  # each verdict's article id, status and reason
    text_cpu_s: float  # CPU time of the text work the judge did itself
    indexed: int  # canonical articles in the judge's index after the batch
    index_bytes: int  # the arrays that index holds


def event_ms(article: RawArticle) -> int:
    """When the article's event happened, as far as we know: its publication time if given,
    else its ingest time. Stories close by this clock, so a backlog ingested late still groups
    by when it was news."""
    if article.published_at is not None:
        return int(article.published_at.timestamp() * 1000)
    return id_time_ms(article.id)


def article_of(raw: RawArticle) -> Article:
    return Article(raw.id, raw.source, url_key(raw.canonical_url), event_ms(raw))


def verdict_for(article: RawArticle, judged: Judged) -> Verdict:
    return Verdict(
        **article.model_dump(),
        **judged.decision.model_dump(),
        story_id=judged.story_id,
        story_terms=judged.story_terms,
        decided_at=datetime.now(UTC),
    )


class Fold:
    """The judge's state and the work on it, synchronous. One batch at a time: ``prepare``
    names the entries to judge, ``judge`` judges them with whatever feature records were
    found."""

    def __init__(self, settings: Settings, judge_class: type[Judge] = Judge) -> None:
        self.settings = settings
        self.judge_class = judge_class
        self.config = JudgeConfig.from_settings(settings)
        self.text_work = TextWork(Signer(self.config.signature), self.config.boilerplate_line_chars)
        self.state = self._new_state()
        self._batch: list[tuple[str, str, RawArticle]] = []
        self._read: dict[str, str] = {}

    def _new_state(self) -> JudgeState:
        return JudgeState(self.judge_class(self.config))

    def load(self, data: bytes | None) -> int:
        """The state ``dump`` gave, or a new one; how many articles its index holds."""
        self.state = self._new_state() if data is None else pickle.loads(data)
        return self.indexed()

    def dump(self) -> bytes:
        """The whole state, as ``load`` takes it."""
        return pickle.dumps(self.state, protocol=pickle.HIGHEST_PROTOCOL)

    def replay(self, entries: Sequence[bytes]) -> int:
        """Fold journal entries (``Folded.journal`` each) into the state; how many articles."""
        count = 0
        for entry in entries:
            judgements: list[Judgement] = pickle.loads(entry)
            self.state.replay(judgements)
            count += len(judgements)
        return count

    def indexed(self) -> int:
        return len(self.state.judge.index)

    def prepare(self, entries: Sequence[tuple[str, str, bytes]]) -> list[Fresh]:
        """Of the entries read (stream, id, JSON), in the order the judge takes them (ingest
        order), those not judged before and readable as articles."""
        batch = []
        read: dict[str, str] = {}
        for stream, message_id, payload in entries:
            read[stream] = message_id  # entries come in stream order
            if self.state.has_judged(stream, message_id):
                continue  # committed before: only its ack was left
            try:
                batch.append((stream, message_id, RawArticle.model_validate_json(payload)))
            except (ValidationError, ValueError):
                continue  # the text work's group parks it on the dead stream
        batch.sort(key=lambda e: (e[2].id, stream_id(e[1])))
        self._batch, self._read = batch, read
        return [Fresh(stream, raw.id) for stream, _, raw in batch]

    def judge(self, records: Sequence[bytes | None]) -> Folded:
        """Judge the prepared entries, with each one's feature record if a replica left one."""
        settings, work = self.settings, self.text_work
        started = time.process_time()
        features = [decode_features(r) if r else work.features(raw)
                    for r, (_, _, raw) in zip(records, self._batch, strict=True)]  # fmt: skip
        text_cpu = time.process_time() - started if not all(records) else 0.0
        judgements, outgoing, counted = [], [], []
        state = self.state
        for (stream, message_id, raw), found in zip(self._batch, features, strict=True):
            article = article_of(raw)
            judged = state.judge.judge(article, found, _refeature(work, raw))
            state.positions[stream] = message_id
            judgements.append(
                Judgement(stream, message_id, article, encode_features(judged.features))
            )
            verdict = verdict_for(raw, judged)
            target = (settings.stream_canonical if judged.decision.is_canonical
                      else settings.stream_duplicates)  # fmt: skip
            outgoing.append(Outgoing(target, verdict.model_dump_json().encode()))
            counted.append((verdict.id, verdict.status, verdict.reason or ""))
        for stream, last in self._read.items():  # every entry read is done now
            if not state.has_judged(stream, last):
                state.positions[stream] = last
        self._batch, self._read = [], {}
        index = state.judge.index
        return Folded(
            pickle.dumps(judgements), outgoing, counted, text_cpu, len(index), index.nbytes()
        )


def _refeature(work: TextWork, raw: RawArticle) -> Refeature:
    return lambda recurring: work.without_recurring(raw, recurring)
