"""The segment cache: a sentence translated once is never sent to a model again for the
same language pair; the cache is keyed by the sha256 of the sentence and the pair."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from argos_models import build_packages
from kbportal.db import session_scope
from kbportal.models import TranslationSegment
from kbportal.services import translation
from kbportal.services.translation import SegmentCache

pytest_plugins = ["argos_models"]

TEXT = "The house is very small. Where is the station?"


@pytest.fixture
def model_inputs(translation_ready, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every list of texts the engine sends to the model (a spy: the real model still runs)."""
    translator = translation.get_engine().translator
    calls: list[list[str]] = []
    real = translator.translate

    def spy(texts, source, target):
        calls.append(list(texts))
        return real(texts, source, target)

    monkeypatch.setattr(translator, "translate", spy)
    return calls


def test_a_second_translation_of_the_same_text_does_not_call_the_model(model_inputs):
    first = translation.translate_text(TEXT, "en", "de")

    second = translation.translate_text(TEXT, "en", "de")

    assert second.text == first.text == "Die haus ist sehr klein. Wo ist die bahnhof?"
    assert len(model_inputs) == 1
    assert (first.cached, second.cached, second.segments) == (0, 2, 2)


def test_cached_translations_still_work_after_the_package_is_removed(translation_ready):
    first = translation.translate_text(TEXT, "en", "de").text
    translation.remove_package("en", "de")

    assert translation.translate_text(TEXT, "en", "de").text == first


def test_only_the_sentences_not_seen_before_go_to_the_model(model_inputs):
    translation.translate_text("Hello world. The cat is small.", "en", "de")

    result = translation.translate_text("Hello world. The dog is big.", "en", "de")

    assert result.text == "Hallo welt. Die hund ist groß."
    assert model_inputs[-1] == ["The dog is big."]
    assert (result.segments, result.cached) == (2, 1)


def test_a_sentence_repeated_in_one_text_is_translated_once(model_inputs):
    result = translation.translate_text("Hello world.\nHello world.\nHello world.", "en", "de")

    assert result.text == "Hallo welt.\nHallo welt.\nHallo welt."
    assert model_inputs == [["Hello world."]]


def test_the_cache_is_kept_per_language_pair(model_inputs):
    german = translation.translate_text("Hello world.", "en", "de")

    indonesian = translation.translate_text("Hello world.", "en", "id")

    assert (german.text, indonesian.text) == ("Hallo welt.", "Halo dunia.")
    assert indonesian.cached == 0
    assert len(model_inputs) == 2


def test_a_pivot_translation_is_cached_under_its_own_pair(model_inputs):
    translation.translate_text("Hallo Welt.", "de", "id")

    again = translation.translate_text("Hallo Welt.", "de", "id")

    assert (again.text, again.cached) == ("Halo Dunia.", 1)
    assert len(model_inputs) == 1


def cache_rows() -> list[TranslationSegment]:
    with session_scope() as session:
        return list(session.exec(select(TranslationSegment)).all())


def test_cache_rows_hold_the_sha256_of_the_sentence_not_the_sentence(translation_ready):
    translation.translate_text("Hello world.", "en", "de")

    rows = cache_rows()

    assert [(r.source_sha256, r.source_lang, r.target_lang, r.translation) for r in rows] == [
        (hashlib.sha256(b"Hello world.").hexdigest(), "en", "de", "Hallo welt.")]
    assert rows[0].engine == "argos translate-en_de 1.0"


def test_reinstalling_a_package_drops_what_the_old_one_translated(translation_ready, tmp_path):
    translation.translate_text("Hello world.", "en", "de")
    translation.translate_text("Hello world.", "en", "id")

    translation.install_package(build_packages(tmp_path / "v2", ["en-de"], version="2.0")["en-de"])

    assert translation.translate_text("Hello world.", "en", "de").cached == 0
    assert translation.translate_text("Hello world.", "en", "id").cached == 1


def test_progress_counts_cached_and_translated_segments(translation_ready):
    translation.translate_text("Hello world.", "en", "de")
    reports: list[tuple[int, int]] = []

    translation.translate_text("Hello world. Good morning. The cat is small.", "en", "de",
                               progress=lambda done, total: reports.append((done, total)))

    assert reports[0] == (1, 3) and reports[-1] == (3, 3)


def test_a_cache_outage_does_not_stop_translation(model_inputs, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr("kbportal.services.translation.cache._session", broken)

    result = translation.translate_text("Hello world.", "en", "de")

    assert result.text == "Hallo welt." and result.cached == 0


def test_concurrent_writers_of_the_same_segment_keep_one_row(translation_ready):
    cache = SegmentCache()
    cache.put_many({"Hello world.": "Hallo welt."}, "en", "de")

    cache.put_many({"Hello world.": "Hallo Welt!"}, "en", "de")  # a second worker, same segment

    assert [r.translation for r in cache_rows()] == ["Hallo welt."]


def test_the_cache_works_on_postgresql(postgres_url, monkeypatch, caplog):
    from kbportal import db as kbdb
    from kbportal.config import reset_settings

    monkeypatch.setenv("KBPORTAL_DATABASE_URL", postgres_url)
    reset_settings()
    kbdb.reset_engines()
    try:
        kbdb.migrate()
        cache = SegmentCache()
        cache.put_many({"Hello world.": "Hallo welt.", "The cat.": "Die katze."}, "en", "de")
        cache.put_many({"Hello world.": "Hallo Welt!"}, "en", "de")  # a second writer: ignored

        assert cache.get_many(["Hello world.", "The cat.", "New."], "en", "de") == {
            "Hello world.": "Hallo welt.", "The cat.": "Die katze."}
        assert cache.get_many(["Hello world."], "en", "id") == {}
        assert "translation cache" not in caplog.text
    finally:
        kbdb.reset_engines()
        reset_settings()
