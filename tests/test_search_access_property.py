"""The search index applies the access policy exactly: no forbidden hit, no missing one.

For random entries (audiences, statuses, expiry dates, language variants) and
random principals, a query every entry matches returns exactly the objects
``access.index_filter(principal).matches(access.IndexFields)`` admits, and the
total, the facets and the title suggestions count nothing else; also at a later
``now`` on the same (cached) index, when some entries have expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kbportal.models import Role
from kbportal.services import access
from kbportal.services.access import AudienceRule, IndexFields, Principal
from kbportal.services.search import SearchEntry, SearchIndex, SearchQuery, make_key

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(days=2)
REGIONS = ("APAC", "EMEA", "NA")
TIERS = ("registered", "silver", "gold", "platinum")
LANGS = ("en", "de", "ja")
STATUSES = ("published", "draft", "archived", "expired")


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    ix = SearchIndex.create(tmp_path_factory.mktemp("search-property") / "search")
    yield ix
    ix.close()


@dataclass(frozen=True)
class Variant:
    language: str
    fields: IndexFields


@dataclass(frozen=True)
class Obj:
    object_id: int
    kind: str
    doc_type: str
    variants: tuple[Variant, ...]


audiences = st.none() | st.builds(
    AudienceRule,
    all_regions=st.booleans(),
    regions=st.frozensets(st.sampled_from(REGIONS), max_size=2),
    min_tier=st.none() | st.sampled_from(TIERS),
    org_ids=st.frozensets(st.integers(1, 4), max_size=2),
)
expiries = st.none() | st.sampled_from([NOW - timedelta(days=1), NOW, NOW + timedelta(seconds=1), NOW + timedelta(days=1),
                                        LATER, LATER + timedelta(days=30)])
fields = st.builds(
    lambda status, expires, audience: IndexFields(status, expires, access.audience_tokens(audience)),
    st.sampled_from(STATUSES + ("published",) * 4), expiries, audiences,
)


@st.composite
def objects(draw, object_id: int) -> Obj:
    languages = draw(st.lists(st.sampled_from(LANGS), min_size=1, max_size=3, unique=True))
    base = draw(fields)
    # Variants usually share the object's access fields; sometimes one differs (adversarial).
    variants = tuple(Variant(lang, base if i == 0 or draw(st.integers(0, 3)) else draw(fields))
                     for i, lang in enumerate(languages))
    return Obj(object_id, draw(st.sampled_from(("document", "article", "post"))),
               draw(st.sampled_from(("guide", "datasheet"))), variants)


@st.composite
def corpora(draw) -> list[Obj]:
    n = draw(st.integers(1, 14))
    return [draw(objects(i + 1)) for i in range(n)]


principals = st.builds(
    lambda role, region, tier, org, active: Principal(
        user_id=5, role=role, org_id=org, region=region, tier=tier,
        eligible_tiers=frozenset(TIERS[:TIERS.index(tier) + 1]) if tier else frozenset(), active=active),
    st.sampled_from([Role.PARTNER_USER, Role.PARTNER_USER, Role.PARTNER_ADMIN, Role.MARKETING]),
    st.none() | st.sampled_from(REGIONS),
    st.none() | st.sampled_from(TIERS),
    st.none() | st.integers(1, 4),
    st.sampled_from([True, True, True, False]),
)


def entries_of(objs: list[Obj]) -> list[SearchEntry]:
    out = []
    for obj in objs:
        for v in obj.variants:
            out.append(SearchEntry(
                key=make_key(obj.kind, obj.object_id, v.language), kind=obj.kind, object_id=obj.object_id,
                language=v.language, title=f"Shared item {obj.object_id} {v.language}",
                body="shared words for everyone", doc_type=obj.doc_type,
                published_at=NOW - timedelta(days=obj.object_id), access=v.fields,
                source_language=obj.variants[0].language, is_translation=v is not obj.variants[0]))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(objs=corpora(), people=st.lists(principals, min_size=1, max_size=3))
def test_search_returns_exactly_the_objects_the_policy_admits(index, objs, people):
    index.rebuild(entries_of(objs))
    for principal in people:
        for now in (NOW, LATER):
            flt = access.index_filter(principal, now=now)
            permitted_keys = {make_key(o.kind, o.object_id, v.language)
                              for o in objs for v in o.variants if flt.matches(v.fields)}
            expected = {o.object_id for o in objs if any(flt.matches(v.fields) for v in o.variants)}
            event(f"partner sees {'some' if expected else 'none'}" if principal.role.is_partner else "staff")

            result = index.search(SearchQuery(text="shared", language="de", page_size=100), flt)

            assert not result.degraded
            assert {h.object_id for h in result.hits} == expected, (principal, now)
            assert len(result.hits) == len(expected)  # one hit per object
            assert {h.key for h in result.hits} <= permitted_keys  # the variant shown is permitted too
            assert result.total == len(expected)
            assert sum(n for _, n in result.facets.get("kind", [])) == len(expected)
            by_language = {lang: sum(1 for o in objs if any(v.language == lang and flt.matches(v.fields)
                                                             for v in o.variants)) for lang in LANGS}
            assert dict(result.facets.get("language", [])) == {k: n for k, n in by_language.items() if n}
            for hit in result.hits:  # the user's language variant is preferred when permitted
                if f"{hit.kind}:{hit.object_id}:de" in permitted_keys:
                    assert hit.language == "de"

            permitted_titles = {e.title for e in entries_of(objs) if e.key in permitted_keys}
            assert set(index.suggest("shared it", flt, language="de", limit=50)) <= permitted_titles


def test_a_filtered_search_pages_through_exactly_the_permitted_objects(index):
    objs = [Obj(i, "document", "guide",
                (Variant("en", IndexFields("published", None,
                                           access.audience_tokens(AudienceRule(regions=frozenset({REGIONS[i % 3]}))))),))
            for i in range(1, 40)]
    index.rebuild(entries_of(objs))
    principal = Principal(user_id=5, role=Role.PARTNER_USER, org_id=1, region="EMEA", tier="gold",
                          eligible_tiers=frozenset(TIERS[:3]))
    flt = access.index_filter(principal, now=NOW)
    seen: list[int] = []
    page = 1
    while True:
        result = index.search(SearchQuery(text="shared", page=page, page_size=4), flt)
        if not result.hits:
            break
        seen.extend(h.object_id for h in result.hits)
        page += 1
    assert sorted(seen) == [i for i in range(1, 40) if REGIONS[i % 3] == "EMEA"]
    assert len(seen) == len(set(seen)) == result.total
