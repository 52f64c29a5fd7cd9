"""The text work on one article: everything derived from its text alone, without I/O.

Cleaning (furniture lines), normalising, shingling and the MinHash signature; the keys of its
edge lines (for learning a source's recurring boilerplate); its terms, names and their shown
forms (for stories), from the cleaned text.
None of it depends on other articles, so any replica may do it, in any order. What does depend
on them (which edge lines recur in the source, how rare each term is) the judge adds in ingest
order: an article with learned boilerplate lines has its features made again without them
(``without_recurring``).
"""

from __future__ import annotations

import hashlib
import struct
import sys
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from services.dedupe.text.furniture import (
    EDGE_LINE_CHARS,
    edge_keys,
    strip_boilerplate,
    without_consent_notice,
)
from services.dedupe.text.normalize import joined_words
from services.dedupe.text.pairs import WordHashes, word_hashes
from services.dedupe.text.shingles import shingle_hashes
from services.dedupe.text.signature import Signature, Signer
from services.dedupe.text.terms import TermCounter
from shared.models import RawArticle


@dataclass(frozen=True)
class TextFeatures:
    content_key: bytes  # 8 bytes of the normalised words' SHA-256: identical text
    signature: Signature  # finds the candidates
    words: WordHashes  # 16-bit word hashes, in order: what the measures count on
    edge_keys: tuple[bytes, ...]  # the article's edge lines, if it has a source
    terms: tuple[str, ...]  # content terms, each once, in the order they first occur
    counts: tuple[int, ...]  # how often each term occurs
    names: tuple[int, ...]  # which terms occur as names (positions in ``terms``)
    shown: tuple[str, ...]  # each term as a reader knows it ("Gespräch" for "gespraech")


def url_key(canonical_url: str | None) -> bytes | None:
    return hashlib.sha256(canonical_url.encode()).digest()[:16] if canonical_url else None


class TextWork:
    """The text work of one process: its signer (permutations drawn once), its term counter
    (a vocabulary it learns as it goes) and how long an edge line may be to be learned."""

    def __init__(self, signer: Signer, edge_line_chars: int = EDGE_LINE_CHARS) -> None:
        self.signer = signer
        self.edge_line_chars = edge_line_chars
        self.terms = TermCounter()

    def features(self, article: RawArticle) -> TextFeatures:
        return self._features(article, ())

    def without_recurring(self, article: RawArticle, recurring: Collection[bytes]) -> TextFeatures:
        """The features with the source's recurring edge lines left out: of the signature, as
        of the terms (a site's header and footer are not what the article is about)."""
        return self._features(article, recurring)

    def _features(self, article: RawArticle, recurring: Collection[bytes]) -> TextFeatures:
        text = strip_boilerplate(article.text, recurring, self.edge_line_chars)
        joined = joined_words(text)
        hashes = shingle_hashes(joined, self.signer.params.shingle_size)
        counted = self.terms.count(without_consent_notice(text), article.title)
        terms = list(counted.counts)
        position = {term: n for n, term in enumerate(terms)}
        return TextFeatures(
            hashlib.sha256(joined.data).digest()[:8],
            self.signer.sign_hashes(hashes),
            word_hashes(joined),
            tuple(edge_keys(article.text, self.edge_line_chars)) if article.source else (),
            tuple(terms),
            tuple(counted.counts.values()),
            tuple(sorted(position[name] for name in counted.named)),
            tuple(counted.shown[term] for term in terms),
        )


# content key, permutations, words, edge lines, terms, names
_HEADER = struct.Struct("<8sHHHHH")


def encode_features(f: TextFeatures) -> bytes:
    """A compact record: header, signature, word hashes, edge keys, term counts, which terms
    are names, and the terms (one per line)."""
    return b"".join(
        [
            _HEADER.pack(
                f.content_key,
                len(f.signature),
                len(f.words),
                len(f.edge_keys),
                len(f.terms),
                len(f.names),
            ),
            f.signature.astype("<u4").tobytes(),
            f.words.astype("<u2").tobytes(),
            *f.edge_keys,
            np.asarray(f.counts, dtype="<u4").tobytes(),
            np.asarray(f.names, dtype="<u4").tobytes(),
            "\n".join(f.terms + f.shown).encode(),
        ]
    )


def decode_features(data: bytes) -> TextFeatures:
    content_key, perms, word_count, edges, terms, names = _HEADER.unpack_from(data)
    at = _HEADER.size
    signature = np.frombuffer(data, dtype="<u4", count=perms, offset=at).astype(np.uint32)
    at += 4 * perms
    words = np.frombuffer(data, dtype="<u2", count=word_count, offset=at).astype(np.uint16)
    at += 2 * word_count
    edge = tuple(data[at + 8 * n : at + 8 * n + 8] for n in range(edges))
    at += 8 * edges
    counts = np.frombuffer(data, dtype="<u4", count=terms, offset=at).tolist()
    at += 4 * terms
    named_at = np.frombuffer(data, dtype="<u4", count=names, offset=at).tolist()
    at += 4 * names
    # Interned: the story index keeps terms of many articles, and a term is then one string.
    listed = tuple(map(sys.intern, data[at:].decode().split("\n"))) if terms else ()
    return TextFeatures(
        content_key, signature, words, edge, listed[:terms], tuple(counts), tuple(named_at),
        listed[terms:],
    )  # fmt: skip
