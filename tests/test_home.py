"""The home page's data (``services.home``): the newest documents each user may see,
collateral usage for staff only, the admin glance. Real SQLite, filesystem store, the
real upload check (inline jobs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import Session

import docfiles
from factories import Template, actor_of, build_template, make_org, make_user, principal_of
from kbportal import db as kbdb
from kbportal.config import reset_settings
from kbportal.models import Role, User
from kbportal.services import home, repository
from kbportal.services.access import AudienceRule
from kbportal.storage import reset_blob_store

APAC = AudienceRule(regions=frozenset({"APAC"}))
EMEA = AudienceRule(regions=frozenset({"EMEA"}))


@dataclass(frozen=True)
class World:
    admin: int
    marketing: int
    ana: int  # APAC partner
    eve: int  # EMEA partner


def _build(session: Session) -> World:
    apac = make_org(session, "Alpha Asia", region="APAC", tier="gold")
    emea = make_org(session, "Euro Silver", region="EMEA", tier="silver")
    return World(
        admin=make_user(session, "root@vendor.example", Role.ADMIN).id,
        marketing=make_user(session, "mia@vendor.example", Role.MARKETING).id,
        ana=make_user(session, "ana@alpha.example", Role.PARTNER_USER, org=apac).id,
        eve=make_user(session, "eve@euro.example", Role.PARTNER_USER, org=emea).id,
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Template:
    return build_template(tmp_path_factory, "home", _build)


@pytest.fixture
def world(template, db_from_template, monkeypatch) -> World:
    monkeypatch.setenv("KBPORTAL_STORAGE", "filesystem")
    reset_settings()
    reset_blob_store()
    built = db_from_template(template)
    reset_blob_store()
    return built


def publish(world: World, tmp_path: Path, title: str, audience: AudienceRule = APAC, *, publish: bool = True) -> int:
    path = docfiles.make_pdf(tmp_path / f"{title}.pdf", [f"{title} text"])
    with kbdb.session_scope() as s:
        mia = s.get(User, world.marketing)
        ref = repository.create_document(s, principal_of(s, mia), actor_of(mia), repository.Upload(path, path.name),
                                         title=title, audience=audience, publish=publish)
    return ref.document_id


def download(world: World, user_id: int, doc_id: int) -> None:
    with kbdb.session_scope() as s:
        user = s.get(User, user_id)
        principal = principal_of(s, user)
        target = repository.open_download(s, principal, doc_id)
        repository.record_download(s, principal, actor_of(user), target)


def overview(user_id: int) -> home.Overview:
    with kbdb.session_scope() as s:
        user = s.get(User, user_id)
        return home.overview(s, principal_of(s, user), user)


def test_a_partner_sees_only_documents_of_their_audience_newest_first(world, tmp_path):
    first = publish(world, tmp_path, "APAC brochure")
    publish(world, tmp_path, "EMEA brochure", EMEA)
    publish(world, tmp_path, "APAC draft", publish=False)
    latest = publish(world, tmp_path, "APAC datasheet")

    assert [card.id for card in overview(world.ana).recent] == [latest, first]
    assert [card.title for card in overview(world.eve).recent] == ["EMEA brochure"]


def test_the_home_page_lists_at_most_six_documents(world, tmp_path):
    for n in range(home.RECENT_DOCUMENTS + 2):
        publish(world, tmp_path, f"Brochure {n}")

    assert len(overview(world.ana).recent) == home.RECENT_DOCUMENTS


def test_partners_get_no_usage_figures_and_no_admin_glance(world, tmp_path):
    doc_id = publish(world, tmp_path, "APAC brochure")
    download(world, world.ana, doc_id)

    seen = overview(world.ana)

    assert seen.usage is None and seen.stats == {} and seen.logins_by_day == []


def test_marketing_sees_documents_by_state_downloads_and_the_most_downloaded(world, tmp_path):
    popular = publish(world, tmp_path, "Popular brochure")
    quiet = publish(world, tmp_path, "Quiet brochure")
    publish(world, tmp_path, "Unfinished", publish=False)
    for _ in range(3):
        download(world, world.ana, popular)
    download(world, world.ana, quiet)

    usage = overview(world.marketing).usage

    assert (usage.published, usage.drafts, usage.downloads_7d, usage.stale_translations) == (2, 1, 4, 0)
    assert [(t.title, t.downloads) for t in usage.top_documents] == [("Popular brochure", 3), ("Quiet brochure", 1)]
    assert len(usage.downloads_by_day) == 14 and usage.downloads_by_day[-1]["downloads"] == 4
    assert sum(day["downloads"] for day in usage.downloads_by_day) == 4


def test_staff_see_drafts_among_the_newest_documents(world, tmp_path):
    draft = publish(world, tmp_path, "Unfinished", publish=False)

    assert [card.id for card in overview(world.marketing).recent] == [draft]
    assert overview(world.ana).recent == []


def test_admins_also_get_the_portal_glance(world):
    seen = overview(world.admin)

    assert seen.stats["organisations"] == 2 and seen.usage is not None
    assert overview(world.marketing).stats == {}
