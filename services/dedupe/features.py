"""Everything dedupe derives from an article's text and URL, computed once, without I/O."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass

from services.dedupe.boilerplate import strip_boilerplate
from services.dedupe.normalize import joined_words
from services.dedupe.shingles import content_hash, shingle_hashes
from services.dedupe.signature import Signature, Signer


@dataclass(frozen=True)
class Features:
    content_hash: str
    url_hash: str | None
    signature: Signature
    size: int  # distinct shingles: with the signature, what containment is estimated from
    buckets: list[bytes]


def url_hash(canonical_url: str | None) -> str | None:
    return hashlib.sha256(canonical_url.encode()).hexdigest() if canonical_url else None


def features(
    text: str, canonical_url: str | None, signer: Signer, recurring: Collection[bytes] = ()
) -> Features:
    """``recurring`` holds the keys of edge lines known to recur in the article's source."""
    joined = joined_words(strip_boilerplate(text, recurring))
    hashes = shingle_hashes(joined, signer.params.shingle_size)
    signature = signer.sign_hashes(hashes)
    return Features(
        content_hash(joined.data),
        url_hash(canonical_url),
        signature,
        len(hashes),
        signer.band_keys(signature),
    )
