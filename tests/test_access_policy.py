"""The access policy, rule by rule (``kbportal.services.access``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kbportal.models import Role, Status
from kbportal.services import access, orgs
from kbportal.services.access import ANONYMOUS, Action, Principal
from factories import (
    SYSTEM,
    SYSTEM_ACTOR,
    make_org,
    make_user,
    obj,
    partner,
    principal_of,
    staff,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
PARTNER_ROLES = (Role.PARTNER_USER, Role.PARTNER_ADMIN)
STAFF_ROLES = (Role.ADMIN, Role.MARKETING)
READ_ACTIONS = (Action.VIEW, Action.DOWNLOAD)
WRITE_ACTIONS = (Action.EDIT, Action.MODERATE)


def can(principal: Principal, action: Action, guarded) -> bool:
    return access.can(principal, action, guarded, now=NOW)


# --------------------------------------------------------------------------- region and tier


@pytest.mark.parametrize("action", READ_ACTIONS)
def test_gold_apac_partner_sees_a_published_apac_silver_plus_object(action):
    assert can(partner("APAC", "gold"), action, obj(regions=("APAC",), min_tier="silver"))


def test_silver_emea_partner_does_not_see_a_gold_only_object():
    assert not can(partner("EMEA", "silver"), Action.VIEW, obj(regions=("EMEA",), min_tier="gold"))


def test_partner_exactly_at_the_minimum_tier_sees_the_object():
    assert can(partner("EMEA", "gold"), Action.VIEW, obj(regions=("EMEA",), min_tier="gold"))


def test_partner_outside_the_object_regions_does_not_see_it():
    assert not can(partner("NA", "platinum"), Action.VIEW, obj(regions=("APAC", "EMEA")))


def test_all_regions_audience_admits_a_partner_of_any_region():
    assert can(partner("LATAM", "registered"), Action.VIEW, obj(all_regions=True))


def test_audience_without_minimum_tier_admits_a_partner_without_tier():
    assert can(partner("APAC", None), Action.VIEW, obj(regions=("APAC",)))


def test_audience_with_minimum_tier_refuses_a_partner_without_tier():
    assert not can(partner("APAC", None), Action.VIEW, obj(regions=("APAC",), min_tier="registered"))


# --------------------------------------------------------------------------- explicit grants


def test_org_allow_list_grants_access_regardless_of_region_and_tier():
    registered_latam = partner("LATAM", "registered", org_id=7)
    platinum_apac_only = obj(regions=("APAC",), min_tier="platinum", org_ids=(7,))
    assert can(registered_latam, Action.DOWNLOAD, platinum_apac_only)


def test_org_allow_list_alone_admits_only_the_listed_orgs():
    listed_only = obj(org_ids=(7,))
    assert can(partner("APAC", "platinum", org_id=7), Action.VIEW, listed_only)
    assert not can(partner("APAC", "platinum", org_id=8), Action.VIEW, listed_only)


# --------------------------------------------------------------------------- lifecycle


@pytest.mark.parametrize("status", [Status.DRAFT, Status.ARCHIVED, Status.EXPIRED])
@pytest.mark.parametrize("role", PARTNER_ROLES)
def test_unpublished_objects_are_invisible_to_partners(status, role):
    visible_if_published = obj(status, all_regions=True, org_ids=(1,))
    assert not can(partner(role=role, org_id=1), Action.VIEW, visible_if_published)


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("role", STAFF_ROLES)
def test_objects_in_every_status_are_visible_to_marketing_and_admin(status, role):
    assert can(staff(role), Action.VIEW, obj(status, regions=("APAC",), min_tier="platinum"))


def test_object_past_its_expiry_is_invisible_to_partners():
    expired = obj(all_regions=True, expires_at=NOW - timedelta(seconds=1))
    assert not can(partner(), Action.VIEW, expired)


def test_object_expiring_exactly_now_is_already_invisible_to_partners():
    assert not can(partner(), Action.VIEW, obj(all_regions=True, expires_at=NOW))


def test_object_expiring_later_is_visible_to_partners():
    assert can(partner(), Action.VIEW, obj(all_regions=True, expires_at=NOW + timedelta(days=1)))


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_object_past_its_expiry_is_visible_to_staff(role):
    assert can(staff(role), Action.VIEW, obj(all_regions=True, expires_at=NOW - timedelta(days=30)))


def test_object_without_audience_is_staff_only():
    no_audience = obj(no_audience=True)
    assert can(staff(Role.MARKETING), Action.VIEW, no_audience)
    assert can(staff(Role.ADMIN), Action.VIEW, no_audience)
    assert not can(partner("APAC", "platinum", role=Role.PARTNER_ADMIN), Action.VIEW, no_audience)


def test_empty_audience_admits_no_partner():
    assert not can(partner("APAC", "platinum"), Action.VIEW, obj())


# --------------------------------------------------------------------------- actions


@pytest.mark.parametrize("action", WRITE_ACTIONS)
@pytest.mark.parametrize("role", PARTNER_ROLES)
def test_partners_can_never_edit_or_moderate_even_objects_they_see(role, action):
    granted = obj(all_regions=True, org_ids=(1,))
    me = partner("APAC", "platinum", org_id=1, role=role)
    assert can(me, Action.VIEW, granted)
    assert not can(me, action, granted)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", STAFF_ROLES)
def test_staff_may_do_every_action(role, action):
    assert can(staff(role), action, obj(Status.DRAFT, no_audience=True))


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", list(Role))
def test_inactive_principal_can_do_nothing_with_objects(role, action):
    inactive = Principal(user_id=5, role=role, org_id=1, region="APAC", tier="platinum",
                         eligible_tiers=frozenset({"registered", "silver", "gold", "platinum"}), active=False)
    assert not can(inactive, action, obj(all_regions=True, org_ids=(1,)))


@pytest.mark.parametrize("role", list(Role))
def test_inactive_principal_cannot_open_pages_manage_or_audit(role):
    inactive = Principal(user_id=5, role=role, org_id=1, active=False)
    assert not any(access.can_open_page(inactive, page) for page in access.PAGE_ROLES)
    assert not access.can_manage_orgs(inactive)
    assert not access.can_manage_users_of(inactive, 1)
    assert not any(access.can_assign_role(inactive, r) for r in Role)
    assert not access.can_view_audit(inactive)


def test_anonymous_can_do_nothing():
    assert not any(can(ANONYMOUS, action, obj(all_regions=True)) for action in Action)
    assert not access.can_open_page(ANONYMOUS, "home")


# --------------------------------------------------------------------------- pages


def _page_openers(page: str) -> set[Role]:
    return {role for role in Role if access.can_open_page(Principal(user_id=1, role=role, org_id=1), page)}


def test_only_admin_opens_the_organisations_page():
    assert _page_openers("admin_orgs") == {Role.ADMIN}


def test_admin_and_partner_admin_open_the_users_page():
    assert _page_openers("admin_users") == {Role.ADMIN, Role.PARTNER_ADMIN}


def test_admin_and_marketing_open_the_studio():
    assert _page_openers("studio") == {Role.ADMIN, Role.MARKETING}


def test_only_admin_opens_the_audit_log():
    assert _page_openers("admin_audit") == {Role.ADMIN}


def test_every_role_opens_the_library():
    assert _page_openers("library") == set(Role)


def test_unknown_page_opens_for_nobody():
    assert _page_openers("no-such-page") == set()


# --------------------------------------------------------------------------- roles


def _assignable(role: Role) -> set[Role]:
    return {r for r in Role if access.can_assign_role(Principal(user_id=1, role=role, org_id=1), r)}


def test_admin_may_assign_every_role():
    assert _assignable(Role.ADMIN) == set(Role)


def test_partner_admin_may_assign_only_partner_roles():
    assert _assignable(Role.PARTNER_ADMIN) == {Role.PARTNER_ADMIN, Role.PARTNER_USER}


@pytest.mark.parametrize("role", [Role.MARKETING, Role.PARTNER_USER])
def test_marketing_and_partner_users_may_assign_no_role(role):
    assert _assignable(role) == set()


def test_partner_admin_manages_users_of_its_own_org_only():
    me = partner(org_id=1, role=Role.PARTNER_ADMIN)
    assert access.can_manage_users_of(me, 1)
    assert not access.can_manage_users_of(me, 2)
    assert not access.can_manage_users_of(me, None)


# --------------------------------------------------------------------------- principals from the DB


def test_principal_of_a_gold_partner_is_eligible_for_registered_silver_and_gold(session):
    org = make_org(session, "Gold Co", region="EMEA", tier="gold")
    me = principal_of(session, make_user(session, "ann@gold.example", org=org))
    assert (me.region, me.tier, me.org_id, me.active) == ("EMEA", "gold", org.id, True)
    assert me.eligible_tiers == {"registered", "silver", "gold"}


def test_principal_of_a_partner_in_a_deactivated_org_is_inactive(session):
    org = make_org(session, "Dormant Co")
    user = make_user(session, "bob@dormant.example", org=org)
    orgs.update_org(session, SYSTEM, SYSTEM_ACTOR, org.id, active=False)
    assert not principal_of(session, user).active


def test_principal_of_a_disabled_user_is_inactive(session):
    user = make_user(session, "eve@vendor.example", role=Role.MARKETING, active=False)
    assert not principal_of(session, user).active


def test_principal_of_nobody_is_anonymous(session):
    assert access.principal_for(session, None) == ANONYMOUS
