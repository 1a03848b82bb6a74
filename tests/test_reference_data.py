"""Regions and tiers are data: admins add them, and the access policy follows the ranks."""

from __future__ import annotations

import pytest
from sqlmodel import select

from factories import SYSTEM, SYSTEM_ACTOR, make_org, make_user, principal_of
from kbportal.models import AuditEvent, Role
from kbportal.services import access, reference
from kbportal.services.access import Action, AudienceRule, GuardedObject
from kbportal.services.errors import NotFound, ValidationFailed


def test_a_new_tier_ranked_above_platinum_sees_platinum_objects_but_not_the_reverse(session):
    reference.add_tier(session, SYSTEM, SYSTEM_ACTOR, "diamond", "Diamond", 50)
    diamond_user = make_user(session, "d@x.example", org=make_org(session, "Diamond Co", "EMEA", "diamond"))
    platinum_user = make_user(session, "p@x.example", org=make_org(session, "Platinum Co", "EMEA", "platinum"))
    platinum_only = GuardedObject("published", AudienceRule(all_regions=True, min_tier="platinum"))
    diamond_only = GuardedObject("published", AudienceRule(all_regions=True, min_tier="diamond"))
    diamond, platinum = principal_of(session, diamond_user), principal_of(session, platinum_user)
    assert access.can(diamond, Action.VIEW, platinum_only)
    assert access.can(diamond, Action.VIEW, diamond_only)
    assert not access.can(platinum, Action.VIEW, diamond_only)


def test_tiers_are_listed_in_rank_order_including_new_ones(session):
    reference.add_tier(session, SYSTEM, SYSTEM_ACTOR, "bronze", "Bronze", 15)
    assert [t.code for t in reference.tiers(session)] == ["registered", "bronze", "silver", "gold", "platinum"]


def test_a_new_region_can_hold_organisations(session):
    reference.add_region(session, SYSTEM, SYSTEM_ACTOR, "mea", "Middle East and Africa")
    org = make_org(session, "Gulf Partners", "MEA", "gold")
    assert org.region_code == "MEA"


def test_adding_a_tier_with_a_taken_rank_says_so(session):
    with pytest.raises(ValidationFailed) as failure:
        reference.add_tier(session, SYSTEM, SYSTEM_ACTOR, "copper", "Copper", 20)
    assert failure.value.field == "rank"
    assert "rank 20" in failure.value.message("en")


def test_adding_an_existing_region_code_says_so(session):
    with pytest.raises(ValidationFailed) as failure:
        reference.add_region(session, SYSTEM, SYSTEM_ACTOR, "apac", "Asia again")
    assert "APAC" in failure.value.message("en")


def test_partner_admin_cannot_add_regions_or_tiers(session):
    admin = make_user(session, "pa@x.example", role=Role.PARTNER_ADMIN, org=make_org(session, "Acme"))
    principal = principal_of(session, admin)
    with pytest.raises(NotFound):
        reference.add_region(session, principal, SYSTEM_ACTOR, "XX", "Nowhere")
    with pytest.raises(NotFound):
        reference.add_tier(session, principal, SYSTEM_ACTOR, "elite", "Elite", 99)


def test_adding_reference_data_is_audited(session):
    reference.add_tier(session, SYSTEM, SYSTEM_ACTOR, "bronze", "Bronze", 15)
    session.flush()
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "tier.created")).one()
    assert event.target_id == "bronze" and '"rank": 15' in event.detail


def test_admins_see_how_many_organisations_use_each_region_and_tier(session):
    make_org(session, "Acme", "APAC", "gold")
    make_org(session, "Bolt", "APAC", "silver")

    regions = {r.code: r.organisations for r in reference.region_rows(session, SYSTEM)}
    tiers = {t.code: t.organisations for t in reference.tier_rows(session, SYSTEM)}

    assert (regions["APAC"], regions["EMEA"]) == (2, 0)
    assert (tiers["gold"], tiers["silver"], tiers["platinum"]) == (1, 1, 0)


def test_renaming_a_region_or_tier_changes_its_name_only_and_is_audited(session):
    org = make_org(session, "Acme", "APAC", "gold")

    reference.rename_region(session, SYSTEM, SYSTEM_ACTOR, "apac", "Asia Pacific and Japan")
    reference.rename_tier(session, SYSTEM, SYSTEM_ACTOR, "gold", "Gold Plus")

    assert {r.code: r.name for r in reference.regions(session)}["APAC"] == "Asia Pacific and Japan"
    assert {t.code: (t.name, t.rank) for t in reference.tiers(session)}["gold"] == ("Gold Plus", 30)
    assert (org.region_code, org.tier_code) == ("APAC", "gold")
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.action.like("%.renamed"))).all()
    assert sorted(actions) == ["region.renamed", "tier.renamed"]


def test_partners_cannot_list_or_rename_regions_and_tiers(session):
    admin = make_user(session, "pa@x.example", role=Role.PARTNER_ADMIN, org=make_org(session, "Acme"))
    principal = principal_of(session, admin)
    for attempt in (lambda: reference.region_rows(session, principal),
                    lambda: reference.tier_rows(session, principal),
                    lambda: reference.rename_region(session, principal, SYSTEM_ACTOR, "APAC", "Mine"),
                    lambda: reference.rename_tier(session, principal, SYSTEM_ACTOR, "gold", "Mine")):
        with pytest.raises(NotFound):
            attempt()


def test_built_in_tiers_show_in_the_users_language_and_added_ones_by_their_name(session):
    reference.add_tier(session, SYSTEM, SYSTEM_ACTOR, "diamond", "Diamond", 50)

    assert reference.tier_label("gold", "Gold", "de") == "Gold"
    assert reference.tier_label("platinum", "Platinum", "de") == "Platin"
    assert reference.tier_label("diamond", "Diamond", "de") == "Diamond"
    assert reference.tier_label("gold", "Gold Plus", "de") == "Gold Plus"  # renamed by an admin
