from services.dedupe.text.normalize import normalize, tokens


def test_german_and_english_quotes_normalise_alike() -> None:
    assert normalize("Er sagte „bereit und willens“.") == normalize(
        'Er sagte "bereit und willens".'
    )


def test_guillemets_and_single_quotes_normalise_alike() -> None:
    assert normalize("»Frieden« und ‚Krieg‘") == normalize("\"Frieden\" und 'Krieg'")


def test_en_and_em_dashes_become_hyphens() -> None:
    assert normalize("Kiew – außen vor — sagt er") == "kiew - aussen vor - sagt er"


def test_umlauts_fold_to_their_transliteration() -> None:
    assert normalize("Gespräche über Österreich") == normalize("Gespraeche ueber Oesterreich")


def test_sharp_s_folds_to_double_s() -> None:
    assert normalize("Außenminister Straße") == normalize("Aussenminister Strasse")


def test_word_hyphenated_across_a_line_break_is_rejoined() -> None:
    assert normalize("die Verhand-\nlungen beginnen") == "die verhandlungen beginnen"


def test_compound_hyphen_at_a_line_break_is_kept() -> None:
    assert normalize("der Russland-\nUkraine-Gesandte") == "der russland-ukraine-gesandte"


def test_a_dash_at_a_line_end_after_a_space_is_no_hyphenated_word() -> None:
    assert normalize("Gewinne -\nund Verluste") == "gewinne - und verluste"


def test_soft_hyphens_disappear() -> None:
    assert normalize("Verhand\u00adlungen") == "verhandlungen"


def test_whitespace_and_line_wrapping_collapse() -> None:
    assert normalize("  eins\n\nzwei\t drei  ") == "eins zwei drei"


def test_nfkc_unfolds_ligatures_and_full_width_forms() -> None:
    assert normalize("ﬁnal ＵＳＡ") == "final usa"


def test_numbers_are_kept() -> None:
    assert tokens(normalize("Am 18. Februar 2025 um 10:30")) == [
        "am", "18", "februar", "2025", "um", "10", "30",
    ]  # fmt: skip


def test_tokens_drop_punctuation() -> None:
    assert tokens('"hallo", sagte sie. (ja!)') == ["hallo", "sagte", "sie", "ja"]
