"""Everything dedupe derives from an article's text and URL, computed once, without I/O."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from services.dedupe.normalize import normalize, tokens
from services.dedupe.shingles import content_hash, shingles
from services.dedupe.signature import Signature, Signer


@dataclass(frozen=True)
class Features:
    content_hash: str
    url_hash: str | None
    signature: Signature
    buckets: list[str]


def features(text: str, canonical_url: str | None, signer: Signer) -> Features:
    words = tokens(normalize(text))
    signature = signer.sign(shingles(words, signer.params.shingle_size))
    url_hash = hashlib.sha256(canonical_url.encode()).hexdigest() if canonical_url else None
    return Features(content_hash(words), url_hash, signature, signer.band_keys(signature))
