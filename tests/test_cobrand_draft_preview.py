"""The co-brand form's live preview: page 1 of the PDF the form would make now, rendered
while the partner types (not stored, not audited), cached by its inputs, served only to
the login session that rendered it; and the bounded preview cache.

Reuses the world of ``test_cobranding`` (SQLite, filesystem storage, the real upload
check, engine, LibreOffice pool and pdftoppm).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from cobrand_files import LOGO_RED, colour_box, make_pdf_template
from factories import actor_of, principal_of
from kbportal.models import AuditEvent, GeneratedPdf
from kbportal.services import auth, cobranding, repository
from kbportal.services.access import AudienceRule
from kbportal.services.errors import NotFound, ValidationFailed
from kbportal.storage import get_blob_store
from test_cobranding import (  # noqa: F401 - fixtures
    EMEA_ONLY,
    brand,
    client_for,
    count,
    docx_template,
    generation_jobs,
    pool,
    session,
    template,
    upload_template,
    user,
    world,
)

pytest_plugins = ["cobrand_files"]

ALL = AudienceRule(all_regions=True)


def digest(path: Path) -> str:
    with Image.open(path) as image:
        return hashlib.sha256(image.convert("RGB").tobytes()).hexdigest()


def draft(session, user_id: int, doc_id: int, overrides: dict | None = None, **kwargs) -> Path:
    return cobranding.draft_preview(session, principal_of(session, user_id), doc_id, overrides, **kwargs)


@pytest.fixture
def pdf_template(world, session, tmp_path) -> int:
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"), audience=ALL)
    brand(session, world)
    return doc_id


# --------------------------------------------------------------------------- the service


def test_a_draft_preview_is_page_one_with_the_branding_as_png(world, session, pdf_template):
    path = draft(session, world.ana, pdf_template, {"event_date": "12 March 2027"})

    with Image.open(path) as image:
        assert image.format == "PNG"
        assert 300 < image.size[0] < 800 and 300 < image.size[1] < 800  # preview resolution
        assert colour_box(image.convert("RGB"), LOGO_RED)[0] > 0  # the organisation's logo is on it


def test_a_changed_value_changes_the_pdf_drafts_image(world, session, pdf_template):
    before = draft(session, world.ana, pdf_template, {"event_date": "May"})

    after = draft(session, world.ana, pdf_template, {"event_date": "12 September 2027, Jakarta"})

    assert after != before and digest(after) != digest(before)


def test_typing_back_an_earlier_value_is_served_from_the_cache(world, session, pdf_template):
    first = draft(session, world.ana, pdf_template, {"event_date": "May"})
    stamp = first.stat().st_mtime_ns
    draft(session, world.ana, pdf_template, {"event_date": "June"})

    again = draft(session, world.ana, pdf_template, {"event_date": " May "})  # cleaned like a request

    assert again == first and again.stat().st_mtime_ns == stamp  # not rendered again


def test_a_docx_drafts_image_follows_the_typed_values(world, session, tmp_path, pool):
    doc_id = upload_template(session, world, docx_template(tmp_path), audience=ALL)
    brand(session, world)

    before = draft(session, world.ana, doc_id, {"event_date": "May"})
    after = draft(session, world.ana, doc_id, {"partner_name": "A much longer company name for this flyer"})

    assert digest(after) != digest(before)
    with Image.open(after) as image:
        assert colour_box(image.convert("RGB"), LOGO_RED)[0] > 0


def test_a_draft_is_neither_stored_nor_audited_nor_a_job(world, session, pdf_template):
    draft(session, world.ana, pdf_template, {"event_date": "May"})

    assert count(session, GeneratedPdf) == 0 and generation_jobs(session) == 0
    assert session.exec(select(AuditEvent).where(AuditEvent.action.like("cobrand.%"))).all() == []
    assert list(get_blob_store().list_versions("generated/")) == []


def test_a_template_outside_my_audience_has_no_draft_preview(world, session, tmp_path):
    emea = upload_template(session, world, make_pdf_template(tmp_path / "emea.pdf"), audience=EMEA_ONLY)

    for doc_id in (emea, emea + 1000):
        with pytest.raises(NotFound):
            draft(session, world.ana, doc_id)


def test_a_partner_cannot_preview_with_another_organisations_branding(world, session, pdf_template):
    with pytest.raises(NotFound):
        draft(session, world.eve, pdf_template, org_id=world.acme)


def test_a_draft_checks_values_like_a_request(world, session, pdf_template):
    with pytest.raises(ValidationFailed) as refused:
        draft(session, world.ana, pdf_template, {"evnt_date": "May"})

    assert (refused.value.code, refused.value.field) == ("cobrand.unknown_field", "evnt_date")


# --------------------------------------------------------------------------- renders at once


class EngineSpy:
    """Wraps the real engine call: counts calls and how many run at once (each a little
    slower, so that renders started together overlap)."""

    def __init__(self, monkeypatch, slow_s: float = 0.3):
        self.real, self.slow_s = cobranding._run_engine, slow_s
        self.lock, self.running, self.most, self.calls = threading.Lock(), 0, 0, 0
        monkeypatch.setattr(cobranding, "_run_engine", self)

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.calls += 1
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(self.slow_s)
            return self.real(*args, **kwargs)
        finally:
            with self.lock:
                self.running -= 1


def render_together(plans: list) -> list:
    """Render the plans from as many threads, started at the same moment."""
    start, results = threading.Barrier(len(plans)), [None] * len(plans)

    def run(i: int) -> None:
        start.wait()
        results[i] = cobranding.render_draft(plans[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(plans))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def plan(session, user_id: int, doc_id: int, overrides: dict | None = None) -> cobranding.DraftPlan:
    return cobranding.prepare_draft(session, principal_of(session, user_id), doc_id, overrides)


def test_at_most_a_bounded_number_of_drafts_render_at_once(world, session, pdf_template, monkeypatch):
    engine = EngineSpy(monkeypatch)
    plans = [plan(session, world.ana, pdf_template, {"event_date": f"{day} May"}) for day in range(1, 7)]

    paths = render_together(plans)

    assert engine.calls == 6 and all(p is not None and p.is_file() for p in paths)
    assert engine.most == cobranding.DRAFT_RENDERS_AT_ONCE == 2


def test_the_same_draft_asked_for_twice_at_once_is_rendered_once(world, session, pdf_template, monkeypatch):
    engine = EngineSpy(monkeypatch)
    same = plan(session, world.ana, pdf_template, {"event_date": "May"})

    first, second = render_together([same, same])

    assert engine.calls == 1
    assert first == second == cobranding.draft_path(same.key) and first.is_file()


def test_a_draft_no_longer_wanted_when_its_turn_comes_is_not_rendered(world, session, pdf_template, monkeypatch):
    engine = EngineSpy(monkeypatch)
    stale = plan(session, world.ana, pdf_template, {"event_date": "Ma"})  # the user typed on meanwhile

    assert cobranding.render_draft(stale, still_wanted=lambda: False) is None

    assert engine.calls == 0 and not cobranding.draft_path(stale.key).exists()


# --------------------------------------------------------------------------- the route


def rendered_url(session, user_id: int, token: str, doc_id: int, overrides: dict | None = None) -> str:
    """Render a draft as the co-brand page does and return the address the page shows."""
    plan = cobranding.prepare_draft(session, principal_of(session, user_id), doc_id, overrides)
    assert cobranding.render_draft(plan) is not None
    return cobranding.draft_url(token, plan)


def test_the_draft_route_serves_the_session_that_rendered_it_and_404_to_anyone_else(world, session, pdf_template):
    ana = client_for("ana@acme.example")
    url = rendered_url(session, world.ana, ana.cookies["kbp_session"], pdf_template, {"event_date": "May"})

    mine = ana.get(url)
    assert mine.status_code == 200 and mine.headers["content-type"] == "image/png"
    assert mine.content.startswith(b"\x89PNG")

    colleague = client_for("paula@acme.example")  # same organisation, another session
    other_session = client_for("ana@acme.example")
    for client in (colleague, other_session, client_for("eve@euro.example"), client_for(None)):
        assert client.get(url).status_code == 404
    assert ana.get(url.replace("&s=", "&s=0")).status_code == 404
    assert ana.get(url.replace(f"t={pdf_template}", f"t={pdf_template + 1}")).status_code == 404  # signed with it
    assert ana.get("/api/cobrand/draft/..%2F..%2Fcobranding.png?s=x").status_code == 404


def test_a_draft_is_not_served_after_its_session_logged_out(world, session, pdf_template):
    ana = client_for("ana@acme.example")
    token = ana.cookies["kbp_session"]
    url = rendered_url(session, world.ana, token, pdf_template)
    assert ana.get(url).status_code == 200

    auth.logout(session, token)
    session.commit()

    assert ana.get(url).status_code == 404


def test_a_draft_is_not_served_once_its_template_leaves_the_users_audience(world, session, pdf_template):
    ana = client_for("ana@acme.example")
    url = rendered_url(session, world.ana, ana.cookies["kbp_session"], pdf_template, {"event_date": "May"})
    assert ana.get(url).status_code == 200

    mia = user(session, world.marketing)
    repository.update_metadata(session, principal_of(session, mia), actor_of(mia), pdf_template, audience=EMEA_ONLY)
    session.commit()

    assert ana.get(url).status_code == 404


def test_staff_drafts_for_another_organisation_carry_it_in_the_signed_address(world, session, pdf_template):
    mia_client = client_for("mia@vendor.example")
    plan = cobranding.prepare_draft(session, principal_of(session, world.marketing), pdf_template, org_id=world.acme)
    cobranding.render_draft(plan)
    url = cobranding.draft_url(mia_client.cookies["kbp_session"], plan)

    assert f"o={world.acme}" in url and mia_client.get(url).status_code == 200
    assert mia_client.get(url.replace(f"o={world.acme}", f"o={world.acme + 1}")).status_code == 404


# --------------------------------------------------------------------------- the bounded cache


def _png(folder: Path, name: str, size: int, age_s: float, now: float) -> Path:
    path = folder / name
    path.write_bytes(b"x" * size)
    os.utime(path, (now - age_s, now - age_s))
    return path


def test_previews_older_than_the_age_limit_are_removed(tmp_path):
    now = 1_000_000.0
    old = _png(tmp_path, "old.png", 10, age_s=2 * 86400, now=now)
    fresh = _png(tmp_path, "fresh.png", 10, age_s=60, now=now)

    removed = cobranding.prune_previews(tmp_path, max_bytes=1000, max_age_s=86400, now=now)

    assert removed == [old] and not old.exists() and fresh.exists()


def test_over_the_size_limit_the_oldest_previews_go_first_and_the_new_one_stays(tmp_path):
    now = 1_000_000.0
    oldest = _png(tmp_path, "a.png", 400, age_s=300, now=now)
    older = _png(tmp_path, "b.png", 400, age_s=200, now=now)
    newer = _png(tmp_path, "c.png", 400, age_s=100, now=now)
    written = _png(tmp_path, "d.png", 400, age_s=3 * 86400, now=now)  # a clock oddity: kept anyway
    (tmp_path / "render-123").mkdir()  # a render in progress

    removed = cobranding.prune_previews(tmp_path, max_bytes=1000, max_age_s=86400, now=now, keep=written)

    assert removed == [oldest, older]
    assert newer.exists() and written.exists() and (tmp_path / "render-123").is_dir()


def test_a_missing_preview_folder_prunes_nothing(tmp_path):
    assert cobranding.prune_previews(tmp_path / "none") == []
