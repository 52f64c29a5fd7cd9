import itertools

import pytest

from services.dedupe.features import features
from services.dedupe.signature import SignatureParams, Signer, jaccard
from services.republish import republished
from tests.conftest import SEEDS

SIGNER = Signer(SignatureParams(num_perm=128, seed=1, shingle_size=5, candidate_threshold=0.3))


@pytest.mark.parametrize("seed_path", SEEDS, ids=lambda p: p.stem)
def test_republished_seed_is_near_the_original(seed_path) -> None:  # type: ignore[no-untyped-def]
    text = seed_path.read_text(encoding="utf-8")
    original = features(text, None, SIGNER)
    copy = features(republished(text, 7), None, SIGNER)
    assert jaccard(original.signature, copy.signature) >= 0.75


def test_rewrapped_text_with_other_quotes_has_the_same_content_hash() -> None:
    a = features("Er sagte „ja“ zu den Gesprächen.", None, SIGNER)
    b = features('Er sagte\n"ja" zu den Gespraechen.', None, SIGNER)
    assert a.content_hash == b.content_hash


def test_the_five_seeds_are_far_apart() -> None:
    signatures = [features(p.read_text(encoding="utf-8"), None, SIGNER).signature for p in SEEDS]
    assert len(signatures) == 5
    for a, b in itertools.combinations(signatures, 2):
        assert jaccard(a, b) < 0.2


def test_url_hash_is_absent_without_a_url() -> None:
    assert features("text", None, SIGNER).url_hash is None
    assert features("text", "https://a.example/x", SIGNER).url_hash is not None
