"""The judge as a pure fold over articles in ingest order: no Redis, no clock but the ids'."""

from __future__ import annotations

import random

import pytest

from services.dedupe.judge.config import JudgeConfig
from services.dedupe.judge.fold import Judgement, JudgeState, article_of
from services.dedupe.judge.judge import Judge, Judged
from services.dedupe.text.features import TextWork, encode_features
from services.dedupe.text.signature import Signer
from shared.ids import id_at
from shared.models import RawArticle
from shared.settings import Settings
from tests.factories import raw_article

SETTINGS = Settings(index_horizon_days=1.0)
CONFIG = JudgeConfig.from_settings(SETTINGS)
WORK = TextWork(Signer(CONFIG.signature))
WORDS = [f"wort{n}" for n in range(3000)]


def text(seed: int, words: int = 200) -> str:
    return " ".join(random.Random(seed).choices(WORDS, k=words))


def at(ms: int, body: str, **extra: object) -> RawArticle:
    return raw_article(body, id=id_at(ms, random.getrandbits(64)), **extra)


def judge_all(judge: Judge, articles: list[RawArticle]) -> list[Judged]:
    judged = []
    for raw in articles:
        features = WORK.features(raw)
        judged.append(
            judge.judge(
                article_of(raw),
                features,
                lambda recurring, raw=raw: WORK.without_recurring(raw, recurring),
            )
        )
    return judged


def test_a_later_copy_is_a_duplicate_of_the_earlier_article_which_stays_canonical() -> None:
    first, copy = at(1_000, text(1)), at(2_000, text(1) + " nachtrag")
    a, b = judge_all(Judge(CONFIG), [first, copy])
    assert a.decision.status == "canonical"
    assert (b.decision.status, b.decision.canonical_id, b.decision.reason) == (
        "duplicate", first.id, "near",
    )  # fmt: skip
    assert b.decision.measure == "jaccard" and b.decision.similarity is not None
    assert b.decision.similarity > 0.9
    assert b.story_id == a.story_id == first.id


def test_identical_text_is_an_exact_duplicate_and_different_texts_are_both_canonical() -> None:
    articles = [at(1_000, text(1)), at(2_000, text(2)), at(3_000, text(1))]
    a, b, c = judge_all(Judge(CONFIG), articles)
    assert [a.decision.status, b.decision.status] == ["canonical", "canonical"]
    assert (c.decision.canonical_id, c.decision.reason, c.decision.similarity) == (
        articles[0].id, "exact", 1.0,
    )  # fmt: skip


def test_a_teaser_is_a_duplicate_of_its_full_article_by_containment() -> None:
    full = text(5, 600)
    teaser = " ".join(full.split()[:200])
    _, t = judge_all(Judge(CONFIG), [at(1_000, full), at(2_000, teaser)])
    assert (t.decision.status, t.decision.measure) == ("duplicate", "containment")


def test_an_article_posted_again_under_its_canonical_url_is_an_update_of_the_first() -> None:
    url = "https://example.org/a"
    first, edited = at(1_000, text(1), url=url), at(2_000, text(2), url=url)
    _, b = judge_all(Judge(CONFIG), [first, edited])
    assert (b.decision.reason, b.decision.canonical_id, b.decision.matched_id) == (
        "update", first.id, first.id,
    )  # fmt: skip


def test_articles_ingested_more_than_the_horizon_apart_are_not_compared() -> None:
    day = 86_400_000
    _, late = judge_all(Judge(CONFIG), [at(day, text(1)), at(3 * day, text(1))])
    assert late.decision.status == "canonical"


def test_a_header_recurring_in_a_source_is_learned_and_left_out_of_the_comparison() -> None:
    header = "Das Lokalblatt - Ihre Zeitung fuer die Region"
    own = [at(1_000 * n, f"{header}\n{text(100 + n, 40)}", source="lokal") for n in range(1, 6)]
    wire = at(10_000, text(7, 60))
    # A short wire story with the outlet's header: the header is a third of the text, but it
    # is learned from the outlet's earlier articles and does not count.
    copy = at(11_000, f"{header}\n{text(7, 60)}", source="lokal")
    judged = judge_all(Judge(CONFIG), [*own, wire, copy])
    assert judged[-1].decision.canonical_id == wire.id
    assert judged[-1].decision.reason == "exact"


def test_a_replayed_journal_gives_the_judge_the_state_its_verdicts_came_from() -> None:
    articles = [at(1_000 * n, text(n % 7), source="s", url=f"https://x/{n % 5}") for n in
                range(1, 40)]  # fmt: skip
    judge = Judge(CONFIG)
    judged = judge_all(judge, articles[:30])
    restored = JudgeState(Judge(CONFIG))
    restored.replay([
        Judgement("raw", f"{n}-0", article_of(raw), encode_features(j.features))
        for n, (raw, j) in enumerate(zip(articles[:30], judged, strict=True))
    ])  # fmt: skip
    assert restored.positions == {"raw": "29-0"}
    again = [(j.decision, j.story_id, j.story_terms) for j in judge_all(judge, articles[30:])]
    after = [(j.decision, j.story_id, j.story_terms) for j in
             judge_all(restored.judge, articles[30:])]  # fmt: skip
    assert after == again
    assert {j.decision.status for j in judge_all(judge, articles[30:])} == {"duplicate"}


@pytest.mark.parametrize("seed", range(3))
def test_a_canonical_article_joins_the_open_story_of_an_earlier_one_on_the_same_event(
    seed: int,
) -> None:
    event = "Lawrow Riad Rubio Verhandlungen Waffenstillstand Ukraine Gipfel Saudi-Arabien"
    background = [at(1_000 * n, text(1_000 + n, 80)) for n in range(1, 60)]
    story = [at(100_000 + 1_000 * n, f"{event}. {text(seed * 10 + n, 80)}",
                title="Lawrow und Rubio in Riad") for n in range(1, 4)]  # fmt: skip
    judged = judge_all(Judge(CONFIG), [*background, *story])[len(background) :]
    assert {j.decision.status for j in judged} == {"canonical"}
    assert {j.story_id for j in judged} == {story[0].id}


def test_unrelated_articles_open_stories_of_their_own() -> None:
    articles = [at(1_000 * n, text(2_000 + n, 80)) for n in range(1, 30)]
    judged = judge_all(Judge(CONFIG), articles)
    assert [j.story_id for j in judged] == [a.id for a in articles]


BRIEFS = [
    "The city library extends its opening hours on weekdays until eight in the evening, the "
    "librarian announced, and adds reading rooms for students during the exam season.",
    "A burst water main flooded Elm Street overnight; engineers repaired the pipe by morning "
    "and residents had running water again before breakfast.",
    "The brass band of St. Mary's school won the regional championship with a programme of "
    "marches and a new piece written by their conductor.",
    "The farmers' market moves to the town square in spring, with twenty stalls of cheese, "
    "bread, honey and vegetables from the valley's farms.",
    "The county hospital opens a new maternity ward with eight delivery rooms, after two years "
    "of building work paid for by the regional health board.",
]
# An outlet's footer of 250 characters, under every article it publishes.
FOOTER = (
    "The Daily Herald is an independent newspaper published by Herald Media Organisation. "
    "Press enquiries: press office, Herald Media Organisation, 12 Market Street. Subscribe to "
    "the Daily Herald newsletter for independent local news every morning of the week."
)


def test_a_long_footer_of_one_outlet_is_learned_and_leaves_the_story_terms() -> None:
    assert 240 <= len(FOOTER) <= 260
    background = [at(1_000 * n, text(3_000 + n, 80)) for n in range(1, 40)]
    earlier = [  # the outlet's earlier articles, from which its footer is learned
        at(50_000 + 1_000 * n, f"{text(3_100 + n, 80)}\n{FOOTER}", source="herald")
        for n in range(CONFIG.boilerplate_min_articles)
    ]
    briefs = [
        at(100_000 + 1_000 * n, f"{brief}\n{FOOTER}", source="herald")
        for n, brief in enumerate(BRIEFS)
    ]
    judged = judge_all(Judge(CONFIG), [*background, *earlier, *briefs])[-len(briefs) :]
    assert [j.decision.status for j in judged] == ["canonical"] * len(briefs)
    shown = {term for j in judged for term in j.features.shown}
    assert not {"Herald", "herald", "independent", "press", "newsletter"} & shown
    assert len({j.story_id for j in judged}) == len(briefs)  # five briefs, five stories


def test_story_terms_are_shown_as_written_and_a_duplicate_carries_its_storys_terms() -> None:
    body = (
        "Die Gespräche zwischen Lawrow und Rubio in Riad über den Waffenstillstand dauerten "
        "bis zum Abend. Weitere Gespräche über die Sanktionen sollen folgen."
    )
    background = [at(1_000 * n, text(4_000 + n, 80)) for n in range(1, 30)]
    first, copy = at(100_000, body), at(101_000, body)
    *_, canonical, duplicate = judge_all(Judge(CONFIG), [*background, first, copy])
    assert {"Gespräch", "Lawrow", "Riad", "Sanktion"} <= set(canonical.story_terms)
    assert (duplicate.decision.status, duplicate.story_terms) == (
        "duplicate", canonical.story_terms,
    )  # fmt: skip
