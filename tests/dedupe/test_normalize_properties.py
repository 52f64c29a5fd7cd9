"""Properties of the normaliser and the features, over generated text (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.dedupe.text.features import TextWork
from services.dedupe.text.normalize import (
    _ASCII_WORD,
    _WORD,
    joined_words,
    normalize,
    tokens,
    words,
)
from services.dedupe.text.signature import Signer
from services.dedupe.text.terms import _ASCII_SPLIT, _SPLIT
from shared.models import RawArticle
from tests.dedupe.test_signature import PARAMS

SIGNER = Signer(PARAMS)
WORDS = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüßABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜ0123456789",
            min_size=1, max_size=12),
    min_size=1, max_size=60,
)  # fmt: skip
GAPS = st.sampled_from([" ", "  ", "\n", "\r\n", "\t", " \n ", "\u00a0"])


@given(st.text())
def test_normalising_twice_changes_nothing(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(WORDS, st.data())
def test_how_words_are_spaced_and_wrapped_does_not_matter(
    words: list[str], data: st.DataObject
) -> None:
    spaced = "".join(word + data.draw(GAPS) for word in words)
    assert tokens(normalize(spaced)) == tokens(normalize(" ".join(words)))


@given(st.text(alphabet=st.sampled_from(list("aZä_9 -\n\t\r.„“’—ß\u00adÄ")) | st.characters()))
def test_words_are_the_tokens_of_the_normalised_text(text: str) -> None:
    assert words(text) == tokens(normalize(text))


@given(WORDS)
def test_umlauts_and_their_spelled_out_forms_normalise_alike(words: list[str]) -> None:
    text = " ".join(words)
    spelled = text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    assert normalize(spelled) == normalize(text)


@given(WORDS)
def test_typographic_quotes_and_dashes_normalise_to_plain_ones(words: list[str]) -> None:
    plain = '"' + " - ".join(words) + '"'
    fancy = "„" + " – ".join(words) + "“"
    assert normalize(fancy) == normalize(plain)


@settings(max_examples=200)
@given(st.text(max_size=3000))
def test_features_are_defined_for_any_text_and_the_same_for_a_copy(text: str) -> None:
    # Any text, as the text work gets it (ingest has refused NUL and lone surrogates before).
    work = TextWork(SIGNER)
    features = work.features(RawArticle.model_construct(text=text, title=None, source=None))
    copy = work.features(RawArticle.model_construct(text=text + "\n", title=None, source=None))
    assert copy.signature.tolist() == features.signature.tolist()
    assert (copy.content_key, copy.words.tolist(), copy.terms, copy.shown) == (
        features.content_key, features.words.tolist(), features.terms, features.shown,
    )  # fmt: skip


ASCII_TEXT = st.text(alphabet=st.characters(max_codepoint=127))


@given(ASCII_TEXT)
def test_ascii_text_gives_the_words_the_unicode_rules_give(text: str) -> None:
    assert _ASCII_WORD.findall(text) == _WORD.findall(text)


@given(st.text(alphabet=st.sampled_from(list("aZ9_'- \n.")) | st.characters(max_codepoint=127)))
def test_ascii_text_splits_into_the_terms_words_the_unicode_rules_give(text: str) -> None:
    assert _ASCII_SPLIT.split(text) == _SPLIT.split(text)


ANY_TEXT = st.text(
    alphabet=st.sampled_from(list("aZ9_ -\n.,äé€日𠀀😀𝔘\u00a0\ud800")) | st.characters()
)


@given(ANY_TEXT)
def test_joined_words_are_the_words_joined_by_single_spaces(text: str) -> None:
    assert joined_words(text).data == " ".join(words(text)).encode()


@given(ASCII_TEXT | ANY_TEXT)
def test_joined_words_know_where_each_word_starts_and_ends(text: str) -> None:
    joined = joined_words(text)
    spans = zip(joined.starts.tolist(), joined.ends.tolist(), strict=True)
    assert [joined.data[a:b].decode() for a, b in spans] == words(text)
