"""`kbportal translate ...` as an operator uses it: install, pairs, text, remove, and the
one-line refusals with their exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from argos_models import make_not_a_zip
from kbportal import db
from kbportal.cli import app
from kbportal.config import reset_settings
from kbportal.i18n import translate

pytest_plugins = ["argos_models"]


def _reset() -> None:
    db.reset_engines()
    reset_settings()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith("KBPORTAL_"):
            monkeypatch.delenv(name)
    path = tmp_path / "data"
    monkeypatch.setenv("KBPORTAL_DATA_DIR", str(path))
    monkeypatch.chdir(tmp_path)
    _reset()
    yield path
    _reset()


def kb(*args: object) -> Result:
    _reset()
    result = CliRunner().invoke(app, [str(a) for a in args])
    _reset()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture
def installed(argos_packages: dict[str, Path]) -> dict[str, Path]:
    for path in argos_packages.values():
        assert kb("translate", "install", path).exit_code == 0
    return argos_packages


def test_install_says_what_was_installed(argos_packages):
    result = kb("translate", "install", argos_packages["en-de"])

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "Installed translate-en_de 1.0 (English -> German)."


def test_pairs_json_lists_installed_and_pivot_pairs(installed):
    result = kb("translate", "pairs", "--json")

    assert result.exit_code == 0, result.stderr
    pairs = json.loads(result.stdout)
    assert {"source": "en", "target": "de", "via": None, "package": "translate-en_de", "version": "1.0"} in pairs
    assert {"source": "de", "target": "id", "via": "en", "package": None, "version": None} in pairs
    assert len(pairs) == 6


def test_pairs_without_packages_says_how_to_install_one():
    result = kb("translate", "pairs")

    assert result.exit_code == 0
    assert "kbportal translate install" in result.stdout


def test_text_prints_the_translation(installed):
    result = kb("translate", "text", "--from", "en", "--to", "de", "The house is very small.")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Die haus ist sehr klein.\n"


def test_text_json_tells_the_pivot_and_the_cache(installed):
    kb("translate", "text", "--from", "de", "--to", "id", "Hallo Welt.")

    result = kb("translate", "text", "--from", "de", "--to", "id", "Hallo Welt.", "--json")

    assert json.loads(result.stdout) == {"text": "Halo Dunia.", "source": "de", "target": "id", "via": "en",
                                         "segments": 1, "cached": 1}


def test_text_reads_standard_input_for_a_dash(installed):
    result = CliRunner().invoke(app, ["translate", "text", "--from", "en", "--to", "de", "-"],
                                input="Hello world.\nGood morning.\n")

    assert result.stdout == "Hallo welt.\nGut morgen.\n\n"


def test_remove_uninstalls_the_pair(installed):
    result = kb("translate", "remove", "en", "id")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "Removed translate-en_id 1.0."
    assert {"en-id"}.isdisjoint(f"{p['source']}-{p['target']}" for p in json.loads(
        kb("translate", "pairs", "--json").stdout))


def test_a_missing_pair_exits_1_naming_the_package(installed):
    result = kb("translate", "text", "--from", "fr", "--to", "es", "Bonjour.")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert translate("en", "translation.pair_missing", source="fr", target="es", package="translate-fr_es") \
        in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_file_that_is_not_a_package_exits_1_with_the_reason(tmp_path):
    result = kb("translate", "install", make_not_a_zip(tmp_path / "junk.argosmodel"))

    assert result.exit_code == 1
    assert result.stderr.strip() == translate("en", "translation.package_not_zip", name="junk.argosmodel")


def test_removing_a_pair_that_is_not_installed_exits_1():
    result = kb("translate", "remove", "en", "fr")

    assert result.exit_code == 1
    assert result.stderr.strip() == translate("en", "translation.not_installed", source="en", target="fr")


def test_a_file_that_does_not_exist_is_a_usage_error(tmp_path):
    assert kb("translate", "install", tmp_path / "missing.argosmodel").exit_code == 2


def test_a_language_code_that_is_not_one_is_a_usage_error():
    result = kb("translate", "text", "--from", "english", "--to", "de", "Hello.")

    assert result.exit_code == 2
    assert "is not a language code" in result.stderr


def test_the_installed_command_runs_end_to_end(argos_packages, data_dir):
    env = {**os.environ, "KBPORTAL_DATA_DIR": str(data_dir)}

    def run(*args: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kbportal.cli", "translate", *map(str, args)],
                              capture_output=True, text=True, env=env, timeout=120, check=False)

    assert run("install", argos_packages["en-ja"]).returncode == 0
    done = run("text", "--from", "en", "--to", "ja", "Hello world.")

    assert (done.returncode, done.stdout) == (0, "こんにちは 世界.\n")
