"""The translation engine: package management, pairs (with the English pivot), exact
output of real Argos packages, clear refusals, and no network, ever.

The packages are tiny real ones (``argos_models``): a word-by-word gloss model, so
"The house is very small." is "Die haus ist sehr klein." in German.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from argos_models import build_packages, make_not_a_zip, repack
from kbportal.services import translation
from kbportal.services.errors import ValidationFailed
from kbportal.services.translation import LanguagePair, ModelFailed, PackageNotInstalled, PairMissing

pytest_plugins = ["argos_models"]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Any attempt to open a connection fails the test (and is recorded)."""
    attempts: list[object] = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise AssertionError(f"network access attempted: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: refuse(None, address))
    return attempts


def engine_translator():
    return translation.get_engine().translator


# --------------------------------------------------------------------------- installing and listing


def test_an_installed_package_is_listed_with_its_languages_and_version(db, argos_packages):
    info = translation.install_package(argos_packages["en-de"])

    assert (info.name, info.source, info.target, info.version) == ("translate-en_de", "en", "de", "1.0")
    assert [(p.source, p.target, p.version) for p in translation.packages()] == [("en", "de", "1.0")]
    assert translation.pairs() == [LanguagePair("en", "de")]


def test_installing_a_pair_again_replaces_its_package(db, argos_packages, tmp_path):
    translation.install_package(argos_packages["en-de"])
    newer = build_packages(tmp_path / "v2", ["en-de"], version="2.0")["en-de"]

    translation.install_package(newer)

    assert [(p.name, p.version) for p in translation.packages()] == [("translate-en_de", "2.0")]
    assert translation.translate_text("Hello world.", "en", "de").text == "Hallo welt."


def test_remove_uninstalls_the_pair(translation_ready):
    removed = translation.remove_package("en", "de")

    assert removed.name == "translate-en_de"
    assert ("en", "de") not in {(p.source, p.target) for p in translation.pairs()}
    assert not removed.path.exists()


def test_removing_a_pair_that_is_not_installed_is_refused(db):
    with pytest.raises(PackageNotInstalled) as refused:
        translation.remove_package("en", "fr")

    assert refused.value.code == "translation.not_installed"
    assert refused.value.params == {"source": "en", "target": "fr"}


# --------------------------------------------------------------------------- refusing what is not a package


def test_a_file_that_is_not_a_zip_is_refused(db, tmp_path):
    with pytest.raises(ValidationFailed) as refused:
        translation.install_package(make_not_a_zip(tmp_path / "notes.argosmodel"))

    assert refused.value.code == "translation.package_not_zip"
    assert refused.value.params["name"] == "notes.argosmodel"


def test_an_archive_without_metadata_is_refused(db, argos_packages, tmp_path):
    broken = repack(argos_packages["en-de"], tmp_path / "no-meta.argosmodel", drop=("metadata.json",))

    with pytest.raises(ValidationFailed) as refused:
        translation.install_package(broken)

    assert refused.value.code == "translation.package_no_metadata"


@pytest.mark.parametrize("metadata", [
    {"from_code": "en", "type": "translate"},  # no target language
    {"from_code": "en", "to_code": "en", "type": "translate"},  # same language twice
    {"from_code": "en", "to_code": "../../etc", "type": "translate"},  # not a language code
    {"from_code": "en", "to_code": "de", "type": "sbd"},  # not a translation package
])
def test_metadata_that_does_not_describe_a_translation_is_refused(db, argos_packages, tmp_path, metadata):
    broken = repack(argos_packages["en-de"], tmp_path / "bad-meta.argosmodel", metadata=metadata)

    with pytest.raises(ValidationFailed) as refused:
        translation.install_package(broken)

    assert refused.value.code == "translation.package_bad_metadata"


def test_a_package_without_its_sentence_splitter_is_refused_instead_of_downloading_one(db, argos_packages, tmp_path):
    broken = repack(argos_packages["en-de"], tmp_path / "no-sbd.argosmodel", drop=("minisbd/",))

    with pytest.raises(ValidationFailed) as refused:
        translation.install_package(broken)

    assert refused.value.code == "translation.package_incomplete"
    assert refused.value.params["missing"] == "minisbd/en.onnx"


def test_a_package_without_its_model_is_refused(db, argos_packages, tmp_path):
    broken = repack(argos_packages["en-de"], tmp_path / "no-model.argosmodel", drop=("model/",))

    with pytest.raises(ValidationFailed) as refused:
        translation.install_package(broken)

    assert refused.value.params["missing"] == "model/model.bin"


def test_a_package_with_paths_outside_its_folder_is_refused(db, argos_packages, tmp_path):
    broken = repack(argos_packages["en-de"], tmp_path / "escape.argosmodel", extra={"../../escaped.txt": b"x"})

    with pytest.raises(ValidationFailed) as refused:
        translation.install_package(broken)

    assert refused.value.code == "translation.package_unsafe"
    assert not (tmp_path / "escaped.txt").exists()


def test_a_refused_package_leaves_the_installed_ones_as_they_were(translation_ready, tmp_path):
    before = translation.packages()

    with pytest.raises(ValidationFailed):
        translation.install_package(make_not_a_zip(tmp_path / "junk.argosmodel"))

    assert translation.packages() == before


# --------------------------------------------------------------------------- pairs and pivot


def test_pairs_list_installed_packages_then_pairs_through_english(translation_ready):
    assert translation.pairs() == [
        LanguagePair("de", "en"), LanguagePair("en", "de"), LanguagePair("en", "id"), LanguagePair("en", "ja"),
        LanguagePair("de", "id", via="en"), LanguagePair("de", "ja", via="en"),
    ]


def test_a_pivot_pair_translates_through_english(translation_ready):
    result = translation.translate_text("Hallo Welt.", "de", "id")

    assert (result.text, result.via) == ("Halo Dunia.", "en")


# --------------------------------------------------------------------------- translating


def test_real_package_output_is_exact(translation_ready):
    result = translation.translate_text("The house is very small. Where is the station?", "en", "de")

    assert result.text == "Die haus ist sehr klein. Wo ist die bahnhof?"
    assert (result.source, result.target, result.via, result.segments) == ("en", "de", None, 2)


def test_translation_into_japanese(translation_ready):
    assert translation.translate_text("Hello world.", "en", "ja").text == "こんにちは 世界."


def test_a_batch_of_texts_comes_back_in_order(translation_ready):
    texts = ["Hello world.", "", "The cat is small.", "Where is the station?"]

    assert engine_translator().translate(texts, "en", "de") == [
        "Hallo welt.", "", "Die katze ist klein.", "Wo ist die bahnhof?"]


def test_a_very_long_sentence_is_translated_whole_not_cut_at_the_output_limit(translation_ready):
    sentence = " ".join(["the small house"] * 200) + "."  # ~3,200 characters, 600 words: beyond 256 tokens

    translated = translation.translate_text(sentence, "en", "de").text

    assert translated == " ".join(["die klein haus"] * 200) + "."


def test_translating_into_the_same_language_returns_the_text(db):
    result = translation.translate_text("Anything at all.", "en", "en")

    assert result.text == "Anything at all."


def test_a_missing_pair_names_the_package_to_install(translation_ready):
    with pytest.raises(PairMissing) as missing:
        translation.translate_text("Bonjour.", "fr", "es")

    assert missing.value.code == "translation.pair_missing"
    assert missing.value.params == {"source": "fr", "target": "es", "package": "translate-fr_es"}


def test_a_missing_half_of_the_pivot_is_the_package_named(translation_ready):
    with pytest.raises(PairMissing) as missing:
        translation.translate_text("Hallo.", "de", "fr")  # de->en is installed, en->fr is not

    assert missing.value.package == "translate-en_fr"


def test_a_missing_pair_is_reported_before_any_work(db):
    assert translation.can_translate("en", "de") is False
    with pytest.raises(PairMissing):
        translation.translate_text("Hello.", "en", "de")


# --------------------------------------------------------------------------- models in memory


def test_listing_pairs_loads_no_model(translation_ready):
    translation.pairs()

    assert engine_translator().loaded() == []


def test_a_model_is_loaded_once_per_pair_and_reused(translation_ready):
    translator = engine_translator()
    translator.translate(["Hello world."], "en", "de")
    first = translator._models[("en", "de")]

    translator.translate(["Good morning."], "en", "de")

    assert translator._models[("en", "de")] is first
    assert translator.loaded() == ["en-de"]


def test_a_reinstalled_package_is_reloaded(translation_ready, tmp_path):
    translator = engine_translator()
    translator.translate(["Hello."], "en", "de")
    first = translator._models[("en", "de")]

    translation.install_package(build_packages(tmp_path / "v2", ["en-de"], version="2.0")["en-de"])
    translator.translate(["Hello."], "en", "de")

    assert translator._models[("en", "de")] is not first


def test_concurrent_translations_on_one_model_give_the_same_results(translation_ready):
    translator = engine_translator()
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                results.append(translator.translate(["The dog is big.", "The cat is small."], "en", "de"))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert results == [["Die hund ist groß.", "Die katze ist klein."]] * 20


def test_a_damaged_model_asks_for_the_package_to_be_installed_again(translation_ready):
    info = next(p for p in translation.packages() if (p.source, p.target) == ("en", "id"))
    (info.path / "model" / "model.bin").write_bytes(b"not a model")

    with pytest.raises(ModelFailed) as failed:
        translation.translate_text("Hello world.", "en", "id")

    assert failed.value.code == "translation.model_failed"
    assert failed.value.params["package"] == "translate-en_id"


# --------------------------------------------------------------------------- offline


def test_installing_and_translating_never_opens_a_connection(db, argos_packages, no_network):
    for path in argos_packages.values():
        translation.install_package(path)
    translation.pairs()
    translation.translate_text("Hello world.", "en", "de")
    translation.translate_text("Hallo Welt.", "de", "id")

    assert no_network == []


def test_argos_sees_an_empty_local_package_index_and_never_fetches_one(translation_ready, no_network):
    import argostranslate.package

    translation.translate_text("Hello world.", "en", "de")  # loads a model: Argos is set up for this data dir

    assert argostranslate.package.get_available_packages() == []
    argostranslate.package.update_package_index()  # even an explicit update reads a local file
    assert no_network == []


def test_argos_keeps_its_files_in_the_data_dir(translation_ready):
    import argostranslate.settings as settings

    translation.translate_text("Hello world.", "en", "de")

    data = translation.translation_dir()
    assert settings.package_data_dir == data / "packages"
    assert settings.local_package_index.is_relative_to(data)
    assert json.loads(settings.local_package_index.read_text()) == []
    assert settings.cache_dir.is_relative_to(data) and settings.config_dir.is_relative_to(data)


def test_a_fresh_process_translates_without_touching_home_or_the_xdg_environment(translation_ready, tmp_path):
    """Also proves ONNX Runtime's telemetry is off: it keeps its event store in ~/.cache."""
    home = tmp_path / "home"
    home.mkdir()
    script = ("import os; from kbportal.services import translation as t; "
              "print(t.translate_text('Hello world.', 'en', 'de').text); print(os.environ.get('XDG_DATA_HOME'))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ARGOS_"))}
    env["HOME"] = str(home)

    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["Hallo welt.", "None"]
    assert list(home.rglob("*")) == []


def test_a_sentence_with_more_tokens_than_the_model_takes_is_cut_by_tokens_not_dropped(translation_ready):
    translator = engine_translator()
    sentence = " ".join(["a i"] * 97) + "."  # under the 400-character cap, but ~195 tokens
    translator.translate(["a"], "en", "de")
    assert len(translator._models[("en", "de")].package.tokenizer.encode(sentence)) > 150

    translated = translator.translate([sentence], "en", "de")[0]

    assert translated == " ".join(["ein ich"] * 97) + "."
