import numpy as np
import pytest
import xxhash
from datasketch import MinHash

from services.dedupe.judge.bands import band_keys
from services.dedupe.text.signature import SCHEME, Signature, SignatureParams, Signer

PARAMS = SignatureParams(num_perm=128, seed=1, shingle_size=5, candidate_threshold=0.3)


def jaccard(a: Signature, b: Signature) -> float:
    """The Jaccard estimate LSH banding relies on: the share of equal values."""
    return float(np.count_nonzero(a == b)) / len(a)


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


def test_banding_follows_the_threshold() -> None:
    low = Signer(SignatureParams(128, 1, 5, 0.3))
    high = Signer(SignatureParams(128, 1, 5, 0.9))
    assert low.bands > high.bands
    assert low.bands * low.rows <= 128 and high.bands * high.rows <= 128


def test_identical_signatures_share_every_bucket(signer: Signer) -> None:
    signature = signer.sign(_items(0, 100))
    keys = band_keys(signature, signer.bands, signer.rows)
    assert len(keys) == signer.bands
    again = band_keys(signer.sign(_items(0, 100)), signer.bands, signer.rows)
    assert np.array_equal(keys, again)


def test_unrelated_signatures_share_no_bucket(signer: Signer) -> None:
    a = band_keys(signer.sign(_items(0, 300)), signer.bands, signer.rows)
    b = band_keys(signer.sign(_items(1000, 1300)), signer.bands, signer.rows)
    assert not set(a.tolist()) & set(b.tolist())


def test_a_band_key_changes_with_any_row_of_its_band_and_with_nothing_else(
    signer: Signer,
) -> None:
    signature = signer.sign(_items(0, 100))
    changed = signature.copy()
    changed[signer.rows + 1] += 1  # a row of the second band
    a = band_keys(signature, signer.bands, signer.rows)
    b = band_keys(changed, signer.bands, signer.rows)
    assert [n for n in range(signer.bands) if a[n] != b[n]] == [1]


def test_another_seed_gives_another_signature() -> None:
    other = Signer(SignatureParams(128, 2, 5, 0.5))
    assert not np.array_equal(other.sign(_items(0, 50)), Signer(PARAMS).sign(_items(0, 50)))
