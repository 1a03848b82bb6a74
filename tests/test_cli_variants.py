"""`kbportal doc translate` and `kbportal doc variants`, as an operator uses them: real tiny
Argos packages installed with `kbportal translate install`, jobs run by the command itself
(no worker), one-line refusals with exit code 1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from kbportal.models import Role

import docfiles
from cli_runner import data_dir_from, kb, kb_json
from factories import Template, build_template, make_org, make_user

pytest_plugins = ["argos_models"]

MARKETING = "mia@vendor.example"
ANA = "ana@alpha.example"  # partner, APAC gold, reads German
EVE = "eve@euro.example"  # partner, EMEA: outside the APAC audience
NOT_FOUND = "Not found. It may have been removed, or you may not have access to it."


def _build(session: Session) -> None:
    a = make_org(session, "Alpha Asia", region="APAC", tier="gold")
    e = make_org(session, "Euro Silver", region="EMEA", tier="silver")
    make_user(session, MARKETING, Role.MARKETING)
    make_user(session, ANA, Role.PARTNER_USER, org=a, ui_language="de")
    make_user(session, EVE, Role.PARTNER_USER, org=e, ui_language="de")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Template:
    return build_template(tmp_path_factory, "cli-variants", _build)


@pytest.fixture(autouse=True)
def data_dir(template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from data_dir_from(template, tmp_path, monkeypatch)


@pytest.fixture
def doc_id(argos_packages, tmp_path) -> int:
    """A published APAC document, with the en-de package installed."""
    assert kb("translate", "install", argos_packages["en-de"]).exit_code == 0
    pdf = docfiles.make_pdf(tmp_path / "guide.pdf", ["The house is very small."])
    return kb_json("doc", "add", pdf, "--title", "The partner guide", "--description", "The new price list.",
                   "--regions", "APAC", "--publish", "--as", MARKETING)["id"]


def test_doc_translate_waits_for_the_job_and_prints_the_variant(doc_id):
    variant = kb_json("doc", "translate", doc_id, "--to", "de", "--as", MARKETING)

    assert (variant["language"], variant["kind"], variant["state"]) == ("de", "machine", "ready")
    assert (variant["title"], variant["description"], variant["text"]) == (
        "Die partner anleitung", "Die neu preis liste.", "Die haus ist sehr klein.")


def test_doc_variants_lists_what_doc_translate_made(doc_id):
    kb("doc", "translate", doc_id, "--to", "de", "--as", ANA)

    listed = kb_json("doc", "variants", doc_id, "--as", MARKETING)

    assert [(v["language"], v["title"], v["stale"], v["source_version"]) for v in listed] == [
        ("de", "Die partner anleitung", False, 1)]


def test_doc_translate_without_the_package_names_it_and_exits_1(doc_id):
    result = kb("doc", "translate", doc_id, "--to", "id", "--as", MARKETING)

    assert result.exit_code == 1
    assert "translate-en_id" in result.stderr


def test_doc_translate_of_a_document_outside_the_audience_is_not_found(doc_id):
    result = kb("doc", "translate", doc_id, "--to", "de", "--as", EVE)

    assert (result.exit_code, result.stderr.strip()) == (1, NOT_FOUND)


def test_doc_variants_is_not_found_for_a_partner(doc_id):
    result = kb("doc", "variants", doc_id, "--as", ANA)

    assert (result.exit_code, result.stderr.strip()) == (1, NOT_FOUND)


def test_doc_review_corrects_a_segment_and_approves(doc_id):
    variant = kb_json("doc", "translate", doc_id, "--to", "de", "--as", MARKETING)

    reviewed = kb_json("doc", "review", variant["id"], "--edit", "The house is very small.=>Das Haus ist winzig.",
                       "--title", "Der Leitfaden", "--as", MARKETING)

    assert (reviewed["kind"], reviewed["title"], reviewed["text"]) == ("reviewed", "Der Leitfaden",
                                                                       "Das Haus ist winzig.")


def test_doc_segments_lists_source_machine_and_correction(doc_id):
    variant = kb_json("doc", "translate", doc_id, "--to", "de", "--as", MARKETING)
    kb("doc", "review", variant["id"], "--edit", "The house is very small.=>Das Haus ist winzig.", "--as", MARKETING)

    segments = kb_json("doc", "segments", variant["id"], "--as", MARKETING)

    assert [(s["source"], s["machine"], s["edited"]) for s in segments] == [
        ("The house is very small.", "Die haus ist sehr klein.", "Das Haus ist winzig.")]


def test_doc_segments_is_not_found_for_a_partner(doc_id):
    variant = kb_json("doc", "translate", doc_id, "--to", "de", "--as", MARKETING)

    result = kb("doc", "segments", variant["id"], "--as", ANA)

    assert (result.exit_code, result.output.strip()) == (1, NOT_FOUND)
