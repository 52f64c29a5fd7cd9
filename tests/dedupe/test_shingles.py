from services.dedupe.shingles import content_hash, shingles


def test_shingles_are_overlapping_word_windows() -> None:
    assert shingles(["a", "b", "c", "d"], 2) == [b"a b", b"b c", b"c d"]


def test_repeated_windows_appear_once() -> None:
    assert shingles(["a", "b", "a", "b", "a"], 2) == [b"a b", b"b a"]


def test_text_shorter_than_the_window_is_one_shingle() -> None:
    assert shingles(["kurz", "text"], 5) == [b"kurz text"]


def test_empty_text_has_no_shingles() -> None:
    assert shingles([], 5) == []


def test_content_hash_depends_on_word_order() -> None:
    assert content_hash(["a", "b"]) != content_hash(["b", "a"])
    assert content_hash(["a", "b"]) == content_hash(["a", "b"])


def test_shingles_of_words_with_multibyte_letters_are_whole_words() -> None:
    words = ["grüße", "aus", "köln", "und", "bonn", "heute"]
    assert shingles(words, 5) == [
        "grüße aus köln und bonn".encode(),
        "aus köln und bonn heute".encode(),
    ]
