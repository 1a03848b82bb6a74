"""Language-aware analysis: what each language's fields index and how queries meet them."""

from __future__ import annotations

import pickle

import pytest

from kbportal.services.search.analysis import (
    analyze,
    language_analyzer,
    prefix_analyzer,
    spell_analyzer,
    stem_indonesian,
)
from kbportal.services.search.types import LANGUAGES


def test_english_inflections_share_a_stem():
    assert analyze("en", "install")[0] == analyze("en", "installation")[0] == analyze("en", "installing")[0]


def test_english_stop_words_are_not_indexed():
    assert analyze("en", "the guide for the partners") == analyze("en", "guide partners")


def test_german_inflections_share_a_stem_and_umlauts_fold():
    assert analyze("de", "Häuser") == analyze("de", "Haus") == analyze("de", "hauser")
    assert analyze("de", "Übersicht") == analyze("de", "ubersicht")


@pytest.mark.parametrize("lang, forms", [
    ("fr", ("installés", "installer", "installe")),
    ("es", ("instalaciones", "instalación")),
    ("pt", ("instalações", "instalação")),
])
def test_romance_languages_stem_and_fold_accents(lang, forms):
    assert len({analyze(lang, f)[0] for f in forms}) == 1


def test_each_language_stems_its_own_way():
    # "Die" is an English word but a German article.
    assert analyze("en", "die") == ["die"]
    assert analyze("de", "die") == []


def test_full_width_latin_is_normalised():
    assert analyze("en", "ＡＢＣ Router") == analyze("en", "abc router")


def test_version_numbers_stay_one_token():
    assert "v2.0" in analyze("en", "release v2.0 notes")


@pytest.mark.parametrize("word, stem", [
    ("produknya", "produk"),        # possessive -nya
    ("bukalah", "buka"),            # particle -lah
    ("apakah", "apakah"),           # too short to strip safely
    ("bukumu", "buku"),             # possessive -mu
    ("ilmu", "ilmu"),               # ends in -mu, but too short to strip
    ("dokumenku", "dokumen"),       # possessive -ku
    ("dibuat", "buat"),             # prefix di-
    ("dikirimnya", "kirim"),        # prefix and possessive
    ("sekolah", "sekolah"),         # looks like se- + -lah, is a root
    ("masalah", "masalah"),         # looks like -lah, is a root
    ("server", "server"),           # a loanword, protected
])
def test_indonesian_light_stemmer(word, stem):
    assert stem_indonesian(word) == stem


def test_indonesian_stop_words_are_not_indexed():
    assert analyze("id", "dokumen yang dan untuk partner") == ["dokumen", "partner"]


def test_indonesian_query_meets_affixed_text():
    assert analyze("id", "produk", mode="query") == [analyze("id", "produknya")[0]]


def test_cjk_text_becomes_overlapping_bigrams():
    assert analyze("ja", "東京都", mode="query") == ["東京", "京都"]
    assert analyze("zh", "数据库", mode="query") == ["数据", "据库"]


def test_cjk_index_mode_adds_single_characters_for_one_character_queries():
    indexed = analyze("ja", "東京都")
    assert {"東京", "京都", "東", "京", "都"} <= set(indexed)
    assert analyze("ja", "京", mode="query") == ["京"]


def test_cjk_bigram_positions_let_a_substring_match_as_a_phrase():
    tokens = [(t.text, t.pos) for t in language_analyzer("ja")("東京都庁", positions=True, mode="query")]
    assert tokens == [("東京", 0), ("京都", 1), ("都庁", 2)]


def test_latin_words_inside_cjk_text_stay_words_and_are_stemmed():
    indexed = analyze("ja", "東京でinstallationを")
    assert analyze("en", "install")[0] in indexed
    assert "東京" in indexed


def test_stop_words_are_renumbered_so_phrases_still_match():
    tokens = [(t.text, t.pos) for t in language_analyzer("en")("install the router", positions=True)]
    assert tokens == [("instal", 0), ("router", 1)]


def test_character_offsets_point_into_the_original_text():
    text = "Die Übersicht"
    tok = [t for t in language_analyzer("de")(text, chars=True)][0]
    assert text[tok.startchar:tok.endchar] == "Übersicht"


def test_spelling_vocabulary_keeps_real_words_only():
    words = [t.text for t in spell_analyzer()("Über 2 installation ab 東京 v2.0")]
    assert words == ["über", "installation"]


def test_prefix_vocabulary_is_unstemmed_and_accent_folded():
    words = [t.text for t in prefix_analyzer()("Übersicht Installation")]
    assert words == ["ubersicht", "installation"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_portal_language_has_an_analyzer_that_survives_pickling(lang):
    analyzer = language_analyzer(lang)
    assert pickle.loads(pickle.dumps(analyzer)) == analyzer
    assert analyze(lang, "partner") != []
