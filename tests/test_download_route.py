"""The authenticated download route over HTTP: access, Range, ETag, names, audit."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from docfiles import make_pdf, make_random_bytes
from factories import PASSWORD, SYSTEM_ACTOR, make_org, make_user
from kbportal.api.routes import build_api
from kbportal.config import reset_settings
from kbportal.db import session_scope
from kbportal.models import AuditEvent, Role
from kbportal.services import auth, repository
from kbportal.services.access import AudienceRule
from kbportal.storage import reset_blob_store

FILENAME = "Präsentation Q3 日本.pdf"


@pytest.fixture
def world(db, tmp_path, monkeypatch):
    """A gold APAC partner, a silver EMEA partner, marketing, and one published PDF for gold APAC."""
    monkeypatch.setenv("KBPORTAL_STORAGE", "filesystem")
    reset_settings()
    reset_blob_store()
    with session_scope() as session:
        apac = make_org(session, "Acme APAC", "APAC", "gold")
        emea = make_org(session, "Euro Silver", "EMEA", "silver")
        make_user(session, "gold@apac.example", org=apac)
        make_user(session, "silver@emea.example", org=emea)
        marketing = make_user(session, "mk@vendor.example", role=Role.MARKETING)
        principal = repository_principal(session, marketing)
        pdf = make_pdf(tmp_path / "upload.pdf", ["Launch brochure " * 400])
        ref = repository.create_document(
            session, principal, SYSTEM_ACTOR, repository.Upload(path=pdf, filename=FILENAME), title="Launch brochure",
            audience=AudienceRule(regions=frozenset({"APAC"}), min_tier="gold"), publish=True)
    yield {"doc_id": ref.document_id, "bytes": pdf.read_bytes()}
    reset_blob_store()


def repository_principal(session, user):
    from kbportal.services.access import principal_for

    return principal_for(session, user)


def client_for(email: str | None) -> TestClient:
    client = TestClient(build_api())
    if email:
        client.cookies.set("kbp_session", auth.authenticate(email, PASSWORD).token)
    return client


def url(world, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/documents/{world['doc_id']}/download" + (f"?{query}" if query else "")


def test_permitted_partner_downloads_the_published_file_with_its_original_name(world):
    response = client_for("gold@apac.example").get(url(world))
    assert response.status_code == 200
    assert response.content == world["bytes"]
    assert response.headers["content-type"] == "application/pdf"
    assert f"filename*=UTF-8''{quote(FILENAME, safe='')}" in response.headers["content-disposition"]
    assert response.headers["etag"] == f'"{hashlib.sha256(world["bytes"]).hexdigest()}"'


def test_partner_outside_the_audience_gets_not_found(world):
    response = client_for("silver@emea.example").get(url(world))
    assert response.status_code == 404
    assert "Not found" in response.json()["message"]


def test_anonymous_request_gets_not_found(world):
    assert client_for(None).get(url(world)).status_code == 404


def test_a_forbidden_document_answers_exactly_like_a_missing_one(world):
    client = client_for("silver@emea.example")
    forbidden = client.get(url(world))
    missing = client.get(f"/api/documents/{world['doc_id'] + 999}/download")
    assert (forbidden.status_code, forbidden.json()) == (missing.status_code, missing.json())


def test_range_request_resumes_a_download(world):
    client = client_for("gold@apac.example")
    response = client.get(url(world), headers={"Range": "bytes=100-199"})
    assert response.status_code == 206
    assert response.content == world["bytes"][100:200]
    assert response.headers["content-range"] == f"bytes 100-199/{len(world['bytes'])}"


def test_open_ended_and_suffix_ranges_are_served(world):
    client = client_for("gold@apac.example")
    size = len(world["bytes"])
    assert client.get(url(world), headers={"Range": f"bytes={size - 10}-"}).content == world["bytes"][-10:]
    assert client.get(url(world), headers={"Range": "bytes=-7"}).content == world["bytes"][-7:]


def test_unsatisfiable_range_answers_416_with_the_size(world):
    size = len(world["bytes"])
    response = client_for("gold@apac.example").get(url(world), headers={"Range": f"bytes={size}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"


def test_if_range_with_a_stale_etag_sends_the_whole_file(world):
    response = client_for("gold@apac.example").get(url(world), headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert response.status_code == 200
    assert response.content == world["bytes"]


def test_matching_if_none_match_answers_304(world):
    client = client_for("gold@apac.example")
    etag = client.get(url(world)).headers["etag"]
    assert client.get(url(world), headers={"If-None-Match": etag}).status_code == 304


def test_each_download_is_audited_once_with_user_org_document_and_version(world):
    client = client_for("gold@apac.example")
    client.get(url(world))
    client.get(url(world), headers={"Range": "bytes=50-"})  # a resume is the same download
    with session_scope() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "document.downloaded")).all()
    assert len(events) == 1
    assert events[0].actor_email == "gold@apac.example"
    assert str(world["doc_id"]) == events[0].target_id
    assert '"version": 1' in events[0].detail or '"number": 1' in events[0].detail


def test_partner_cannot_fetch_an_unpublished_version_by_number(world, tmp_path):
    with session_scope() as session:
        from kbportal.models import User
        from kbportal.services.access import principal_for

        marketing = principal_for(session, session.exec(select(User).where(User.email == "mk@vendor.example")).one())
        draft = make_random_bytes(tmp_path / "v2.txt", 2000)
        draft.write_text("Draft notes for v2\n" * 50)
        repository.add_version(session, marketing, SYSTEM_ACTOR, world["doc_id"],
                               repository.Upload(path=draft, filename="v2.txt"))
    assert client_for("gold@apac.example").get(url(world, version=2)).status_code == 404
    assert client_for("mk@vendor.example").get(url(world, version=2)).status_code == 200


def test_thumbnail_of_a_visible_pdf_is_a_png(world):
    response = client_for("gold@apac.example").get(f"/api/documents/{world['doc_id']}/thumbnail")
    assert response.status_code == 200
    assert response.content.startswith(b"\x89PNG")
    assert client_for("silver@emea.example").get(f"/api/documents/{world['doc_id']}/thumbnail").status_code == 404


# --------------------------------------------------------------------------- redirect to signed S3 links


@pytest.fixture
def s3_world(use_s3_storage, db, tmp_path, monkeypatch):
    """The same world on real S3 whose endpoint browsers can reach (KBPORTAL_S3_PUBLIC_ENDPOINT)."""
    monkeypatch.setenv("KBPORTAL_S3_PUBLIC_ENDPOINT", f"http://{use_s3_storage.server.endpoint}")
    reset_settings()
    reset_blob_store()
    yield publish_for_gold_apac(tmp_path)


def publish_for_gold_apac(tmp_path) -> dict:
    """Two partners and marketing; one PDF published for gold APAC partners (current storage)."""
    with session_scope() as session:
        apac = make_org(session, "Acme APAC", "APAC", "gold")
        emea = make_org(session, "Euro Silver", "EMEA", "silver")
        make_user(session, "gold@apac.example", org=apac)
        make_user(session, "silver@emea.example", org=emea)
        marketing = make_user(session, "mk@vendor.example", role=Role.MARKETING)
        pdf = make_pdf(tmp_path / "upload.pdf", ["Launch brochure " * 400])
        ref = repository.create_document(
            session, repository_principal(session, marketing), SYSTEM_ACTOR,
            repository.Upload(path=pdf, filename=FILENAME), title="Launch brochure",
            audience=AudienceRule(regions=frozenset({"APAC"}), min_tier="gold"), publish=True)
    return {"doc_id": ref.document_id, "bytes": pdf.read_bytes()}


def test_with_a_public_s3_endpoint_a_permitted_download_redirects_to_a_signed_link_that_serves_the_file(s3_world):
    import httpx

    response = client_for("gold@apac.example").get(url(s3_world), follow_redirects=False)
    assert response.status_code == 307
    link = response.headers["location"]
    assert "X-Amz-Signature=" in link and "X-Amz-Expires=3600" in link

    fetched = httpx.get(link)  # straight from S3, as a browser would
    assert fetched.status_code == 200 and fetched.content == s3_world["bytes"]
    assert f"filename*=UTF-8''{quote(FILENAME, safe='')}" in fetched.headers["content-disposition"]
    assert fetched.headers["content-type"] == "application/pdf"
    assert httpx.get(link, headers={"Range": "bytes=10-19"}).content == s3_world["bytes"][10:20]  # resume works


def test_with_a_public_s3_endpoint_a_forbidden_download_still_answers_not_found_without_a_link(s3_world):
    response = client_for("silver@emea.example").get(url(s3_world), follow_redirects=False)
    assert response.status_code == 404 and "location" not in response.headers


def test_a_redirected_download_is_audited_once(s3_world):
    client = client_for("gold@apac.example")
    client.get(url(s3_world), follow_redirects=False)
    client.get(url(s3_world), headers={"Range": "bytes=100-"}, follow_redirects=False)  # the resume

    with session_scope() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "document.downloaded")).all()
    assert len(events) == 1


def test_a_tampered_signed_link_is_refused_by_s3(s3_world):
    import httpx

    link = client_for("gold@apac.example").get(url(s3_world), follow_redirects=False).headers["location"]
    tampered = link.replace("response-content-type=application%2Fpdf", "response-content-type=text%2Fhtml")
    assert tampered != link
    assert httpx.get(tampered).status_code == 403


# --------------------------------------------------------------------------- the node's read cache (S3)


@pytest.fixture
def cached_world(use_s3_storage, db, tmp_path):
    """The world on real S3 (no public endpoint): downloads stream through kbportal."""
    world = publish_for_gold_apac(tmp_path)
    with session_scope() as session:
        version = repository._latest(session, world["doc_id"])
        world["blob"] = (version.storage_key, version.storage_version_id)
    yield world


def cached_copy(world):
    from kbportal.storage import get_blob_store

    return get_blob_store().local_path(*world["blob"])


def test_the_checked_upload_is_kept_in_the_read_cache_and_served_from_it(cached_world):
    copy = cached_copy(cached_world)
    assert copy is not None and copy.read_bytes() == cached_world["bytes"]
    response = client_for("gold@apac.example").get(url(cached_world))
    assert response.status_code == 200 and response.content == cached_world["bytes"]
    assert "last-modified" not in response.headers


def test_a_download_missing_from_the_cache_streams_from_s3_and_is_kept(cached_world):
    from kbportal.storage import get_blob_store

    get_blob_store().cache.discard(*cached_world["blob"])
    response = client_for("gold@apac.example").get(url(cached_world))
    assert response.content == cached_world["bytes"]
    assert cached_copy(cached_world).read_bytes() == cached_world["bytes"]


def test_a_damaged_cache_copy_is_not_served(cached_world):
    copy = cached_copy(cached_world)
    copy.write_bytes(copy.read_bytes()[:-10])  # cut short behind kbportal's back
    response = client_for("gold@apac.example").get(url(cached_world))
    assert response.content == cached_world["bytes"]


def test_ranges_are_served_from_the_cache(cached_world):
    assert cached_copy(cached_world) is not None
    response = client_for("gold@apac.example").get(url(cached_world), headers={"Range": "bytes=100-199"})
    assert response.status_code == 206 and response.content == cached_world["bytes"][100:200]


def test_a_cached_document_is_still_not_found_for_a_partner_outside_the_audience(cached_world):
    assert cached_copy(cached_world) is not None
    response = client_for("silver@emea.example").get(url(cached_world))
    assert response.status_code == 404 and cached_world["bytes"][:100] not in response.content


def test_with_the_cache_turned_off_downloads_stream_from_s3(use_s3_storage, db, tmp_path, monkeypatch):
    monkeypatch.setenv("KBPORTAL_BLOB_CACHE_MB", "0")
    reset_settings()
    reset_blob_store()
    with session_scope() as session:
        apac = make_org(session, "Acme APAC", "APAC", "gold")
        make_user(session, "gold@apac.example", org=apac)
        marketing = make_user(session, "mk@vendor.example", role=Role.MARKETING)
        pdf = make_pdf(tmp_path / "upload.pdf", ["Price list " * 300])
        ref = repository.create_document(
            session, repository_principal(session, marketing), SYSTEM_ACTOR,
            repository.Upload(path=pdf, filename="prices.pdf"), title="Prices",
            audience=AudienceRule(regions=frozenset({"APAC"})), publish=True)
    world = {"doc_id": ref.document_id}
    assert client_for("gold@apac.example").get(url(world)).content == pdf.read_bytes()
    from kbportal.config import get_settings

    assert not (get_settings().resolved_data_dir / "blob-cache").exists()


def test_verify_drops_a_cached_copy_whose_bytes_changed_and_downloads_read_storage_again(cached_world):
    copy = cached_copy(cached_world)
    damaged = bytearray(copy.read_bytes())
    damaged[100] ^= 0xFF  # same size, different bytes: only a hash notices
    copy.write_bytes(bytes(damaged))
    with session_scope() as session:
        report = repository.verify(session)
    assert report.ok and report.cache_copies_dropped == 1
    assert client_for("gold@apac.example").get(url(cached_world)).content == cached_world["bytes"]
