"""Word-pair overlap: the exact second measure that verifies what the signature only estimates.

A word edit breaks every 5-word shingle that covers it: at 12% of the words edited about half
the shingles survive, and the copy's estimated Jaccard falls under the threshold. Word pairs
(bigrams) break two at a time, so a heavily edited copy keeps most of them, while two different
articles on one event, sharing their quotes, share few. A short teaser shares few of its full
article's pairs by Jaccard but nearly all of its own: containment decides it.

Each indexed article keeps its words as 16-bit hashes, in order (``word_hashes``: 2 bytes a
word, at most ``MAX_WORDS``); a pair is two such hashes side by side, so the sets compared are
exact up to 16-bit collisions of both words of a pair at once (``judge.overlap_table`` counts
them). ``lead_keys`` are LSH keys of a text's opening words: a teaser and its full article share
them, however little else they share by Jaccard, so the candidate step finds the pair that
containment then decides.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from services.dedupe.text.hashing import GOLDEN, mixed, window_hashes
from services.dedupe.text.normalize import JoinedWords

WordHashes = npt.NDArray[np.uint16]

MAX_WORDS = 2048  # a longer article is compared on its first 2,048 words
LEAD_WORDS = 40  # the opening a teaser keeps
LEAD_KEYS = 2  # bottom-k of the lead's word 4-grams: robust to a few words shifted in front
_LEAD_TAG = np.uint64(GOLDEN)  # keeps lead keys apart from band keys
# Lead keys are the smallest of the mixed 4-grams, so the mix decides which grams an article's
# lead keys are: its multiplier is part of what the judge's state holds (``STATE_FORMAT``).
_LEAD_SECOND = 0xC4CEB93FE53E87BD


def word_hashes(joined: JoinedWords) -> WordHashes:
    """Each word's 16-bit hash, in order: the top half of its shingle hash."""
    count = min(len(joined), MAX_WORDS)
    if count == 0:
        return np.empty(0, dtype=np.uint16)
    data = np.frombuffer(joined.data, dtype=np.uint8)
    hashes = window_hashes(data, joined.starts[:count], joined.ends[:count])
    return (hashes >> np.uint32(16)).astype(np.uint16)


def lead_keys(words: WordHashes) -> npt.NDArray[np.uint64]:
    """The ``LEAD_KEYS`` smallest mixed 4-word hashes of the opening ``LEAD_WORDS`` words."""
    lead = words[:LEAD_WORDS].astype(np.uint64)
    if len(lead) < 4:
        return np.empty(0, dtype=np.uint64)
    grams = (lead[:-3] << np.uint64(48)) | (lead[1:-2] << np.uint64(32))
    grams |= (lead[2:-1] << np.uint64(16)) | lead[3:]
    return np.unique(mixed(grams ^ _LEAD_TAG, _LEAD_SECOND))[:LEAD_KEYS]
