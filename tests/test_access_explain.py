"""The effective-access explanation never disagrees with the decision itself."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from factories import REGIONS, TIERS, eligible
from kbportal.i18n import translate
from kbportal.models import Role
from kbportal.services import access
from kbportal.services.access import Action, AudienceRule, GuardedObject, Principal

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)

principals = st.builds(
    lambda role, region, tier, org, active: Principal(
        user_id=1, role=role, org_id=org, region=region, tier=tier, eligible_tiers=eligible(tier), active=active),
    st.sampled_from(list(Role)), st.sampled_from(REGIONS), st.sampled_from(TIERS), st.integers(1, 4), st.booleans(),
)
audiences = st.one_of(st.none(), st.builds(
    lambda all_regions, regions, min_tier, orgs: AudienceRule(all_regions, frozenset(regions), min_tier, frozenset(orgs)),
    st.booleans(), st.sets(st.sampled_from(REGIONS)), st.one_of(st.none(), st.sampled_from(TIERS)),
    st.sets(st.integers(1, 4), max_size=2),
))
objects = st.builds(
    GuardedObject,
    status=st.sampled_from(["draft", "published", "archived", "expired"]),
    audience=audiences,
    expires_at=st.one_of(st.none(), st.just(NOW - timedelta(days=1)), st.just(NOW + timedelta(days=1))),
)


@settings(max_examples=400, deadline=None)
@given(principals, st.sampled_from(list(Action)), objects)
def test_explanation_agrees_with_the_decision(principal, action, obj):
    explanation = access.explain(principal, action, obj, now=NOW)
    assert explanation.allowed == access.can(principal, action, obj, now=NOW)
    assert explanation.reasons


@settings(max_examples=100, deadline=None)
@given(principals, objects)
def test_every_reason_is_a_real_sentence_in_every_language(principal, obj):
    for reason in access.explain(principal, Action.VIEW, obj, now=NOW).reasons:
        for lang in ("en", "de", "ja"):
            text = translate(lang, reason.code, **dict(reason.params))
            assert text != reason.code and "{" not in text


def test_a_silver_emea_partner_is_told_both_region_and_tier_fail():
    partner = Principal(user_id=1, role=Role.PARTNER_USER, org_id=2, region="EMEA", tier="silver",
                        eligible_tiers=eligible("silver"))
    gold_apac = GuardedObject("published", AudienceRule(regions=frozenset({"APAC"}), min_tier="gold"))
    codes = [r.code for r in access.explain(partner, Action.DOWNLOAD, gold_apac).reasons]
    assert codes == ["access.reason.region_missing", "access.reason.tier_too_low"]
