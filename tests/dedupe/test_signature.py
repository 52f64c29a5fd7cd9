import numpy as np
import pytest
import xxhash
from datasketch import MinHash

from services.dedupe.signature import (
    SCHEME,
    SignatureParams,
    Signer,
    containment,
    from_bytes,
    jaccard,
    to_bytes,
)

PARAMS = SignatureParams(num_perm=128, seed=1, shingle_size=5, candidate_threshold=0.3)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer(PARAMS)


def _items(start: int, stop: int) -> list[bytes]:
    return [f"shingle {i}".encode() for i in range(start, stop)]


@pytest.mark.parametrize("count", [0, 1, 300, 5000])
def test_signature_is_datasketchs_minhash_of_the_xxh32_hashes(signer: Signer, count: int) -> None:
    reference = MinHash(
        num_perm=PARAMS.num_perm, seed=PARAMS.seed, scheme=SCHEME,
        hashfunc=xxhash.xxh32_intdigest,
    )  # fmt: skip
    reference.update_batch(_items(0, count))
    assert np.array_equal(signer.sign(_items(0, count)), reference.hashvalues)


def test_identical_sets_have_identical_signatures(signer: Signer) -> None:
    assert jaccard(signer.sign(_items(0, 300)), signer.sign(_items(0, 300))) == 1.0


@pytest.mark.parametrize("overlap", [0, 100, 200, 300])
def test_estimate_is_close_to_the_true_jaccard(signer: Signer, overlap: int) -> None:
    a = _items(0, 400)
    b = _items(400 - overlap, 800 - overlap)
    true = overlap / (800 - overlap)
    assert abs(jaccard(signer.sign(a), signer.sign(b)) - true) < 0.12


def test_signature_survives_the_byte_round_trip(signer: Signer) -> None:
    signature = signer.sign(_items(0, 50))
    assert np.array_equal(from_bytes(to_bytes(signature, seed=1)), signature)
    assert len(to_bytes(signature, seed=1)) == 4 * PARAMS.num_perm + 16  # LeanMinHash header


def test_banding_follows_the_threshold() -> None:
    low = Signer(SignatureParams(128, 1, 5, 0.3))
    high = Signer(SignatureParams(128, 1, 5, 0.9))
    assert low.bands > high.bands
    assert low.bands * low.rows <= 128 and high.bands * high.rows <= 128


def test_identical_signatures_share_every_bucket(signer: Signer) -> None:
    signature = signer.sign(_items(0, 100))
    keys = signer.band_keys(signature)
    assert len(keys) == signer.bands
    assert keys == signer.band_keys(signer.sign(_items(0, 100)))


def test_unrelated_signatures_share_no_bucket(signer: Signer) -> None:
    a = signer.band_keys(signer.sign(_items(0, 300)))
    b = signer.band_keys(signer.sign(_items(1000, 1300)))
    assert not set(enumerate(a)) & set(enumerate(b))


def test_another_seed_gives_another_signature() -> None:
    other = Signer(SignatureParams(128, 2, 5, 0.5))
    assert not np.array_equal(other.sign(_items(0, 50)), Signer(PARAMS).sign(_items(0, 50)))


def test_containment_of_a_half_length_prefix_is_whole() -> None:
    # A teaser keeping half of a 100-shingle text: Jaccard 0.5 and all of it contained.
    assert containment(0.5, 50, 100) == 1.0


def test_containment_of_unrelated_texts_is_zero() -> None:
    assert containment(0.0, 80, 100) == 0.0


def test_containment_of_an_empty_text_is_zero() -> None:
    assert containment(0.0, 0, 100) == 0.0
