import numpy as np
from datasketch import MinHash
from hypothesis import given
from hypothesis import strategies as st

from services.dedupe.text.hashing import GOLDEN
from services.dedupe.text.normalize import joined_words, words
from services.dedupe.text.shingles import shingle_hashes, shingles
from services.dedupe.text.signature import SCHEME, Signer
from tests.dedupe.test_signature import PARAMS

WORD_LISTS = st.lists(
    st.text(alphabet=st.sampled_from(list("abcxyz019_äöüßéł日本")), min_size=1, max_size=8),
    max_size=40,
)
MASK = (1 << 64) - 1


def reference_hash(shingle: bytes) -> int:
    """The shingle hash as its definition reads: the top half of MurmurHash3's 64-bit finaliser
    of the bytes' polynomial hash mod 2**64, xor their count."""
    value = sum(byte * pow(GOLDEN, j, 1 << 64) for j, byte in enumerate(shingle)) & MASK
    value ^= len(shingle)
    value ^= value >> 33
    value = (value * 0xFF51AFD7ED558CCD) & MASK
    value ^= value >> 33
    value = (value * 0xC4CEB9FE1A85EC53) & MASK
    value ^= value >> 33
    return value >> 32


def test_shingles_are_overlapping_word_windows() -> None:
    assert shingles(["a", "b", "c", "d"], 2) == [b"a b", b"b c", b"c d"]


def test_repeated_windows_appear_once() -> None:
    assert shingles(["a", "b", "a", "b", "a"], 2) == [b"a b", b"b a"]


def test_text_shorter_than_the_window_is_one_shingle() -> None:
    assert shingles(["kurz", "text"], 5) == [b"kurz text"]


def test_empty_text_has_no_shingles() -> None:
    assert shingles([], 5) == []
    assert len(shingle_hashes(joined_words(" ... "), 5)) == 0


def test_shingles_of_words_with_multibyte_letters_are_whole_words() -> None:
    words = ["grüße", "aus", "köln", "und", "bonn", "heute"]
    assert shingles(words, 5) == [
        "grüße aus köln und bonn".encode(),
        "aus köln und bonn heute".encode(),
    ]


@given(WORD_LISTS, st.integers(min_value=1, max_value=6))
def test_shingle_hashes_are_the_sorted_distinct_hashes_of_the_shingles(
    found: list[str], size: int
) -> None:
    text = " ".join(found)
    expected = sorted({reference_hash(s) for s in shingles(words(text), size)})
    assert shingle_hashes(joined_words(text), size).tolist() == expected


def test_a_window_hashes_alike_wherever_it_stands_in_however_long_a_text() -> None:
    alone = shingle_hashes(joined_words("one two three four five"), 5)
    text = "filler " * 50_000 + "one two three four five"
    assert alone[0] in shingle_hashes(joined_words(text), 5)


def test_signature_is_datasketchs_minhash_with_the_shingle_hash_as_hashfunc() -> None:
    text = "Die Gespräche in Riad dauerten viereinhalb Stunden, sagte Lawrow am Dienstag. " * 3
    reference = MinHash(
        num_perm=PARAMS.num_perm, seed=PARAMS.seed, scheme=SCHEME, hashfunc=reference_hash
    )
    reference.update_batch(shingles(words(text), PARAMS.shingle_size))
    signed = Signer(PARAMS).sign_hashes(shingle_hashes(joined_words(text), PARAMS.shingle_size))
    assert np.array_equal(signed, reference.hashvalues)
