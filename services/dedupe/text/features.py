"""The text work on one article: everything derived from its text alone, without I/O.

Cleaning (furniture lines), normalising, shingling and the MinHash signature; the keys of its
edge lines (for learning a source's recurring boilerplate); its terms and names (for stories).
None of it depends on other articles, so any replica may do it, in any order. What does depend
on them (which edge lines recur in the source, how rare each term is) the judge adds in ingest
order: an article with learned boilerplate lines has its signature made again without them
(``text_features`` with ``recurring``).
"""

from __future__ import annotations

import hashlib
import struct
import sys
from bisect import bisect_left
from collections.abc import Collection
from dataclasses import dataclass, replace

import numpy as np

from services.dedupe.text.furniture import edge_keys, strip_boilerplate
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
    terms: tuple[str, ...]  # content terms, each once, in alphabetical order
    counts: tuple[int, ...]  # how often each term occurs
    names: tuple[int, ...]  # which terms occur as names (positions in ``terms``)


def url_key(canonical_url: str | None) -> bytes | None:
    return hashlib.sha256(canonical_url.encode()).digest()[:16] if canonical_url else None


def signed(
    text: str, signer: Signer, recurring: Collection[bytes]
) -> tuple[bytes, Signature, WordHashes]:
    joined = joined_words(strip_boilerplate(text, recurring))
    hashes = shingle_hashes(joined, signer.params.shingle_size)
    return (
        hashlib.sha256(joined.data).digest()[:8],
        signer.sign_hashes(hashes),
        word_hashes(joined),
    )


class TextWork:
    """The text work of one process: its signer (permutations drawn once) and its term
    counter (a vocabulary it learns as it goes)."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer
        self.terms = TermCounter()

    def features(self, article: RawArticle) -> TextFeatures:
        counts, named = self.terms.count(article.text, article.title)
        terms = sorted(counts)
        return TextFeatures(
            *signed(article.text, self.signer, ()),
            tuple(edge_keys(article.text)) if article.source else (),
            tuple(terms),
            tuple(map(counts.__getitem__, terms)),
            tuple(sorted(bisect_left(terms, name) for name in named)),
        )

    def without_recurring(
        self, article: RawArticle, features: TextFeatures, recurring: Collection[bytes]
    ) -> TextFeatures:
        """The features with the source's recurring edge lines left out of the signature. The
        terms stay: a line in every article of its source weighs next to nothing as a term."""
        content_key, signature, words = signed(article.text, self.signer, recurring)
        return replace(features, content_key=content_key, signature=signature, words=words)


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
            "\n".join(f.terms).encode(),
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
    return TextFeatures(content_key, signature, words, edge, listed, tuple(counts), tuple(named_at))
