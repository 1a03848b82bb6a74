"""The translated-variant download route over HTTP: the permitted partner gets the
translated DOCX (real tiny Argos model, filesystem store), everyone else 404, and the
download is audited like any other."""

from __future__ import annotations

import io
import json
import shutil

import docx
import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from docfiles import make_docx
from factories import PASSWORD, SYSTEM_ACTOR, make_org, make_user
from kbportal.api.routes import build_api
from kbportal.config import reset_settings
from kbportal.db import session_scope
from kbportal.models import AuditEvent, Role
from kbportal.services import auth, jobs, repository, translation, variants
from kbportal.services.access import AudienceRule, principal_for
from kbportal.storage import reset_blob_store

pytest_plugins = ["argos_models"]


@pytest.fixture
def world(db, tmp_path, monkeypatch, installed_packages):
    """A German-reading APAC partner inside the audience, an EMEA partner outside it, and a
    published English DOCX translated into German."""
    monkeypatch.setenv("KBPORTAL_STORAGE", "filesystem")
    reset_settings()
    reset_blob_store()
    shutil.copytree(installed_packages, translation.translation_dir() / "packages")
    with session_scope() as session:
        apac = make_org(session, "Acme APAC", "APAC", "gold")
        emea = make_org(session, "Euro Silver", "EMEA", "silver")
        make_user(session, "ana@apac.example", org=apac, ui_language="de")
        make_user(session, "eve@emea.example", org=emea, ui_language="de")
        marketing = principal_for(session, make_user(session, "mk@vendor.example", role=Role.MARKETING))
        source = make_docx(tmp_path / "guide.docx", ["The house is very small."])
        ref = repository.create_document(
            session, marketing, SYSTEM_ACTOR, repository.Upload(path=source, filename="guide.docx"),
            title="The partner guide", audience=AudienceRule(regions=frozenset({"APAC"})), publish=True)
    with session_scope() as session:
        asked = variants.request_translation(session, marketing, SYSTEM_ACTOR, ref.document_id, "de")
    assert jobs.wait(asked.job_id).state == "done"
    yield {"doc_id": ref.document_id, "variant_id": asked.variant_id}
    reset_blob_store()


def client_for(email: str | None) -> TestClient:
    client = TestClient(build_api())
    if email:
        client.cookies.set("kbp_session", auth.authenticate(email, PASSWORD).token)
    return client


def url(world) -> str:
    return f"/api/variants/{world['variant_id']}/download"


def test_permitted_partner_downloads_the_translated_docx(world):
    response = client_for("ana@apac.example").get(url(world))

    assert response.status_code == 200
    assert response.headers["content-type"] == variants.DOCX_MIME
    assert "guide%20%28de%29.docx" in response.headers["content-disposition"]
    text = [p.text for p in docx.Document(io.BytesIO(response.content)).paragraphs]
    assert "Die haus ist sehr klein." in text


def test_partner_outside_the_audience_gets_not_found(world):
    assert client_for("eve@emea.example").get(url(world)).status_code == 404


def test_anonymous_request_gets_not_found(world):
    assert client_for(None).get(url(world)).status_code == 404


def test_unknown_variant_gets_not_found(world):
    assert client_for("ana@apac.example").get("/api/variants/999999/download").status_code == 404


def test_the_download_is_audited_with_the_translation_language(world):
    client_for("ana@apac.example").get(url(world))

    with session_scope() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "document.downloaded")).all()
    assert len(events) == 1
    assert events[0].target_id == str(world["doc_id"])
    assert json.loads(events[0].detail)["variant"] == "translation-de"
