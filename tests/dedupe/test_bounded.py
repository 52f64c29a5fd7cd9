"""The judge's work per article is bounded whatever its index holds: over a stream of articles
made of the same few sentences, where every article resembles hundreds of earlier ones, it
verifies at most ``verify_candidates`` candidates and weighs at most ``story_candidates``
stories per article, and still finds the edited copies among them."""

from __future__ import annotations

from benchmarks.shared_text import shared_sentences
from services.dedupe.judge.config import JudgeConfig
from services.dedupe.judge.fold import article_of
from services.dedupe.judge.judge import Judge
from services.dedupe.text.features import TextWork
from services.dedupe.text.signature import signer_for
from shared.ids import id_at
from shared.models import RawArticle
from shared.settings import Settings
from tests.factories import raw_article

SETTINGS = Settings(verify_candidates=6, story_candidates=10)
ARTICLES = 1_500


def test_verifications_and_stories_weighed_per_article_stay_bounded_as_the_index_grows() -> None:
    docs = shared_sentences(ARTICLES, seed=3)
    work = TextWork(signer_for(SETTINGS))
    judge = Judge(JudgeConfig.from_settings(SETTINGS))
    verified, weighed, found = [], [], {}
    for n, doc in enumerate(docs):
        raw: RawArticle = raw_article(doc.text, id=id_at(1_000_000 + n, n))
        features = work.features(raw)
        before = (judge.verified, judge.weighed)
        judged = judge.judge(article_of(raw), features)  # no source: no boilerplate to learn
        verified.append(judge.verified - before[0])
        weighed.append(judge.weighed - before[1])
        found[doc.key] = (raw.id, judged.decision)
    late = verified[-500:]
    # Late in the stream every article has far more similar earlier articles than the bound.
    assert sum(late) / len(late) > SETTINGS.verify_candidates - 1
    assert max(verified) == SETTINGS.verify_candidates
    assert max(weighed) <= SETTINGS.story_candidates
    copies = [d for d in docs if d.base is not None]
    caught = [d for d in copies if found[d.key][1].matched_id == found[d.base][0]
              or found[d.key][1].canonical_id == found[d.base][1].canonical_id]  # fmt: skip
    assert len(copies) > 300 and len(caught) / len(copies) >= 0.97
    originals = [d for d in docs if d.base is None]
    assert sum(found[d.key][1].status == "duplicate" for d in originals) / len(originals) < 0.01
