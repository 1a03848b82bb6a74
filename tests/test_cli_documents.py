"""`kbportal doc ...`, `kbportal verify` and `kbportal gc`, as an operator uses them.

The users come from a template database built once per module; each test gets its
own copy, its own data dir and the filesystem blob store. Commands run in-process
(CliRunner) except one real subprocess that proves the entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import Session, select

from kbportal import db
from kbportal.models import AuditEvent, Document, DocumentVersion, Role
from kbportal.storage import get_blob_store

import docfiles
from cli_runner import data_dir_from, kb, kb_json
from factories import Template, build_template, make_org, make_user

MARKETING = "mia@vendor.example"
ANA = "ana@alpha.example"  # partner, APAC gold
EVE = "eve@euro.example"  # partner, EMEA silver
GONE = "gone@alpha.example"  # disabled partner
NOT_FOUND = "Not found. It may have been removed, or you may not have access to it."


@dataclass(frozen=True)
class Users:
    apac_org: str
    emea_org: str


def _build(session: Session) -> Users:
    a = make_org(session, "Alpha Asia", region="APAC", tier="gold")
    e = make_org(session, "Euro Silver", region="EMEA", tier="silver")
    make_user(session, MARKETING, Role.MARKETING)
    make_user(session, ANA, Role.PARTNER_USER, org=a)
    make_user(session, EVE, Role.PARTNER_USER, org=e)
    make_user(session, GONE, Role.PARTNER_USER, org=a, active=False)
    return Users(apac_org=a.name, emea_org=e.name)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Template:
    return build_template(tmp_path_factory, "cli-documents", _build)


@pytest.fixture(autouse=True)
def data_dir(template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from data_dir_from(template, tmp_path, monkeypatch)


def add(path: Path, title: str, *options: str, user: str = MARKETING) -> int:
    return kb_json("doc", "add", path, "--title", title, "--as", user, *options)["id"]


def session() -> Session:
    return Session(db.get_engine())


# --------------------------------------------------------------------------- adding and listing


def test_doc_add_prints_the_new_document_id_and_version_as_json(tmp_path):
    created = kb_json("doc", "add", docfiles.make_pdf(tmp_path / "b.pdf"), "--title", "Brochure", "--type", "brochure",
                      "--tag", "wifi", "--tag", "5g,routers", "--regions", "APAC,EMEA", "--min-tier", "gold",
                      "--expires", "2099-01-31", "--label", "Q3 launch", "--note", "First cut", "--as", MARKETING)

    assert set(created) == {"id", "version"} and created["version"] == 1
    shown = kb_json("doc", "show", created["id"], "--as", MARKETING)
    assert (shown["title"], shown["doc_type"], shown["status"]) == ("Brochure", "brochure", "draft")
    assert shown["tags"] == ["5g", "routers", "wifi"]
    assert shown["audience"] == {"all_regions": False, "regions": ["APAC", "EMEA"], "min_tier": "gold",
                                 "org_ids": []}
    assert shown["expires_at"].startswith("2099-02-01T00:00:00")
    assert [(v["number"], v["label"], v["note"]) for v in shown["versions"]] == [(1, "Q3 launch", "First cut")]


def test_a_partners_doc_list_shows_exactly_the_published_documents_of_its_audience(tmp_path):
    def text(name: str) -> Path:
        return docfiles.make_text(tmp_path / f"{name}.txt", f"{name}\n")

    apac = add(text("apac"), "APAC brochure", "--regions", "APAC", "--publish")
    add(text("emea"), "EMEA brochure", "--regions", "EMEA", "--publish")
    add(text("draft"), "APAC draft", "--regions", "APAC")
    add(text("platinum"), "Platinum only", "--min-tier", "platinum", "--publish")
    granted = add(text("granted"), "Granted", "--orgs", "Alpha Asia", "--publish")

    listed = kb_json("doc", "list", "--as", ANA)

    assert sorted(c["id"] for c in listed) == sorted([apac, granted])
    assert all(c["status"] == "published" and c["version_number"] == 1 for c in listed)
    assert len(kb_json("doc", "list", "--as", MARKETING)) == 5


def test_doc_list_of_a_user_who_may_see_nothing_is_an_empty_list(tmp_path):
    add(docfiles.make_pdf(tmp_path / "a.pdf"), "APAC brochure", "--regions", "APAC", "--publish")

    assert kb_json("doc", "list", "--as", EVE) == []


# --------------------------------------------------------------------------- downloading


def test_doc_get_streams_the_published_bytes_and_audits_the_download(tmp_path):
    source = docfiles.make_pdf(tmp_path / "brochure.pdf", ["Hello partners"])
    doc_id = add(source, "Brochure", "--regions", "APAC", "--publish")
    out = tmp_path / "copy.pdf"

    result = kb("doc", "get", doc_id, "--as", ANA, "--out", out)

    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == source.read_bytes()
    with session() as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "document.downloaded")).one()
    detail = json.loads(event.detail)
    assert (event.actor_email, event.target_id, detail["version"], detail["variant"]) == (ANA, str(doc_id), 1,
                                                                                        "original")


def test_doc_get_into_a_folder_uses_the_stored_file_name(tmp_path):
    doc_id = add(docfiles.make_pdf(tmp_path / "x.pdf"), "Brochure", "--regions", "APAC", "--publish")
    folder = tmp_path / "downloads"
    folder.mkdir()

    assert kb("doc", "get", doc_id, "--as", ANA, "--out", folder).exit_code == 0
    assert [p.name for p in folder.iterdir()] == ["x.pdf"]


@pytest.mark.parametrize("case", ["forbidden", "draft", "missing"])
def test_doc_get_of_a_document_the_user_may_not_see_exits_1_with_not_found_and_writes_nothing(tmp_path, case):
    doc_id = {
        "forbidden": lambda: add(docfiles.make_pdf(tmp_path / "e.pdf"), "EMEA", "--regions", "EMEA", "--publish"),
        "draft": lambda: add(docfiles.make_pdf(tmp_path / "d.pdf"), "Draft", "--regions", "APAC"),
        "missing": lambda: 4242,
    }[case]()
    out = tmp_path / "out"
    out.mkdir()

    result = kb("doc", "get", doc_id, "--as", ANA, "--out", out / "file.pdf")

    assert result.exit_code == 1
    assert result.stderr.strip() == NOT_FOUND and "not found" in result.stderr.lower()
    assert list(out.iterdir()) == []


def test_a_partner_cannot_get_a_draft_version_by_number(tmp_path):
    doc_id = add(docfiles.make_pdf(tmp_path / "v1.pdf", ["One"]), "Brochure", "--regions", "APAC", "--publish")
    kb_json("doc", "version", "add", doc_id, docfiles.make_pdf(tmp_path / "v2.pdf", ["Two"]), "--as", MARKETING)

    result = kb("doc", "get", doc_id, "--version", "2", "--as", ANA, "--out", tmp_path / "v2-copy.pdf")

    assert result.exit_code == 1 and result.stderr.strip() == NOT_FOUND
    assert not (tmp_path / "v2-copy.pdf").exists()


def test_a_new_version_and_its_publication_switch_what_partners_download(tmp_path):
    v1 = docfiles.make_pdf(tmp_path / "v1.pdf", ["One"])
    v2 = docfiles.make_pdf(tmp_path / "v2.pdf", ["Two"])
    doc_id = add(v1, "Brochure", "--regions", "APAC", "--publish")

    added = kb_json("doc", "version", "add", doc_id, v2, "--note", "New prices", "--label", "Q4", "--as", MARKETING)
    before = kb("doc", "get", doc_id, "--as", ANA, "--out", tmp_path / "before.pdf")
    published = kb("doc", "publish", doc_id, "--version", "2", "--as", MARKETING)
    after = kb("doc", "get", doc_id, "--as", ANA, "--out", tmp_path / "after.pdf")

    assert added == {"id": doc_id, "version": 2}
    assert before.exit_code == published.exit_code == after.exit_code == 0
    assert (tmp_path / "before.pdf").read_bytes() == v1.read_bytes()
    assert (tmp_path / "after.pdf").read_bytes() == v2.read_bytes()


def test_doc_show_gives_staff_every_version_and_partners_only_the_published_one(tmp_path):
    doc_id = add(docfiles.make_pdf(tmp_path / "v1.pdf", ["One"]), "Brochure", "--regions", "APAC", "--publish")
    kb_json("doc", "version", "add", doc_id, docfiles.make_pdf(tmp_path / "v2.pdf", ["Two"]), "--as", MARKETING)

    staff = kb_json("doc", "show", doc_id, "--as", MARKETING)
    partner = kb_json("doc", "show", doc_id, "--as", ANA)

    assert [v["number"] for v in staff["versions"]] == [1, 2]
    assert [v["number"] for v in partner["versions"]] == [1] and partner["audience"] is None


def test_doc_archive_hides_the_document_from_the_partners_list(tmp_path):
    doc_id = add(docfiles.make_pdf(tmp_path / "a.pdf"), "Brochure", "--regions", "APAC", "--publish")

    result = kb("doc", "archive", doc_id, "--as", MARKETING)

    assert result.exit_code == 0 and f"Archived document {doc_id}" in result.stdout
    assert kb_json("doc", "list", "--as", ANA) == []


# --------------------------------------------------------------------------- refusals


def test_an_unknown_as_user_exits_1_with_a_clear_message(tmp_path):
    result = kb("doc", "list", "--as", "nobody@example.com")

    assert result.exit_code == 1
    assert result.stderr.strip() == "No user with the email nobody@example.com."


def test_a_disabled_as_user_exits_1(tmp_path):
    result = kb("doc", "list", "--as", GONE)

    assert result.exit_code == 1
    assert result.stderr.strip() == "This account is disabled. Ask your administrator to enable it."


def test_a_partner_cannot_add_documents(tmp_path):
    result = kb("doc", "add", docfiles.make_pdf(tmp_path / "mine.pdf"), "--title", "Mine", "--as", ANA)

    assert result.exit_code == 1 and result.stderr.strip() == NOT_FOUND
    with session() as s:
        assert s.exec(select(Document)).all() == []


def test_a_password_protected_pdf_is_refused_with_the_catalogue_sentence(tmp_path):
    result = kb("doc", "add", docfiles.make_encrypted_pdf(tmp_path / "locked.pdf"), "--title", "Locked",
                "--as", MARKETING)

    assert result.exit_code == 1
    assert result.stderr.strip() == "This PDF is password-protected. Upload a version without a password."
    assert list(get_blob_store().list_versions("documents/")) == []


def test_a_bad_expiry_date_is_refused_before_uploading(tmp_path):
    result = kb("doc", "add", docfiles.make_pdf(tmp_path / "a.pdf"), "--title", "A", "--expires", "31.01.2027",
                "--as", MARKETING)

    assert result.exit_code == 1
    assert result.stderr.strip() == '"31.01.2027" is not a date. Write it as YYYY-MM-DD, for example 2027-01-31.'


def test_a_missing_file_is_named(tmp_path):
    result = kb("doc", "add", tmp_path / "nope.pdf", "--title", "A", "--as", MARKETING)

    assert result.exit_code == 1
    assert result.stderr.strip() == f"There is no file at {tmp_path / 'nope.pdf'}. Check the path."


# --------------------------------------------------------------------------- verify and gc


def test_verify_exits_0_when_intact_and_1_after_a_blob_was_tampered_with(tmp_path):
    add(docfiles.make_pdf(tmp_path / "a.pdf"), "Brochure")
    intact = kb_json("verify")
    with session() as s:
        version = s.exec(select(DocumentVersion)).one()
    blob_file = get_blob_store().root.joinpath(*version.storage_key.split("/")) / version.storage_version_id
    blob_file.write_bytes(blob_file.read_bytes()[::-1])

    tampered = kb("verify")

    assert intact == {"ok": True, "checked": 1, "problems": [], "cache_copies_dropped": 0}
    assert tampered.exit_code == 1
    assert "hash mismatch" in tampered.stdout and "1 problem(s)" in tampered.stdout


def test_thumbnails_gives_a_word_version_without_one_its_first_page_and_is_idempotent(tmp_path):
    add(docfiles.make_docx(tmp_path / "a.docx"), "Price list")
    with session() as s:  # as uploaded before kbportal made thumbnails of Word files
        version = s.exec(select(DocumentVersion)).one()
        version.thumbnail_key, version.thumbnail_version_id = "", ""
        s.add(version)
        s.commit()

    first = kb_json("thumbnails")
    again = kb_json("thumbnails")

    assert first == {"missing": 1, "added": 1} and again == {"missing": 0, "added": 0}
    with session() as s:
        assert s.exec(select(DocumentVersion)).one().thumbnail_key


def test_gc_dry_run_lists_an_orphan_and_gc_removes_it(tmp_path):
    add(docfiles.make_pdf(tmp_path / "a.pdf"), "Brochure")
    get_blob_store().put_bytes("documents/77/orphan.pdf", b"%PDF-1.7 left over by a failed upload")

    young = kb_json("gc")
    dry = kb_json("gc", "--dry-run", "--grace-minutes", "0")
    removed = kb_json("gc", "--grace-minutes", "0")

    assert (young["removed"], young["kept_recent"]) == ([], 1)
    assert [b["key"] for b in dry["removed"]] == ["documents/77/orphan.pdf"] and dry["dry_run"]
    assert [b["key"] for b in removed["removed"]] == ["documents/77/orphan.pdf"]
    assert {b.key for b in get_blob_store().list_versions("documents/")} == {
        "documents/1/a.pdf", "documents/1/thumbs/v1.png"}


# --------------------------------------------------------------------------- the real command


def test_the_real_command_lists_documents_as_json_in_a_child_process(tmp_path, data_dir):
    doc_id = add(docfiles.make_pdf(tmp_path / "a.pdf"), "Brochure", "--regions", "APAC", "--publish")
    env = {**os.environ, "KBPORTAL_DATA_DIR": str(data_dir), "KBPORTAL_STORAGE": "filesystem"}

    done = subprocess.run([sys.executable, "-m", "kbportal.cli", "doc", "list", "--as", ANA, "--json"],
                          capture_output=True, text=True, env=env, timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    assert [c["id"] for c in json.loads(done.stdout)] == [doc_id]
