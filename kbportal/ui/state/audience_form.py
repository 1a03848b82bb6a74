"""The audience part of document forms (regions, minimum tier, organisations), shared by
the document page and the studio as a Reflex state mixin."""

from __future__ import annotations

import reflex as rx

from kbportal.services import orgs as org_service
from kbportal.services import reference
from kbportal.services.access import AudienceRule


class AudienceFormMixin(rx.State, mixin=True):
    e_all_regions: bool = False
    e_regions: list[str] = []
    e_min_tier: str = "__any__"
    e_orgs: list[str] = []
    region_codes: list[str] = []
    tier_codes: list[str] = []
    org_names: list[str] = []

    def load_audience_choices(self, session, principal) -> None:
        self.region_codes = [r.code for r in reference.regions(session)]
        self.tier_codes = [t.code for t in reference.tiers(session)]
        self.org_names = [o.name for o in org_service.list_orgs(session, principal)]

    def fill_audience_form(self, audience: AudienceRule | None, org_names_by_id: dict[int, str]) -> None:
        audience = audience or AudienceRule()
        self.e_all_regions = audience.all_regions
        self.e_regions = sorted(audience.regions)
        self.e_min_tier = audience.min_tier or "__any__"
        self.e_orgs = sorted(org_names_by_id[o] for o in audience.org_ids if o in org_names_by_id)

    def audience_from_form(self, session, principal) -> AudienceRule:
        org_ids = frozenset(org_service.find_org_by_name(session, principal, n).id for n in self.e_orgs)
        return AudienceRule(all_regions=self.e_all_regions, regions=frozenset(self.e_regions),
                            min_tier=None if self.e_min_tier == "__any__" else self.e_min_tier, org_ids=org_ids)

    @rx.event
    def set_all_regions(self, value: bool):
        self.e_all_regions = value

    @rx.event
    def set_min_tier(self, value: str):
        self.e_min_tier = value

    @rx.event
    def toggle_region(self, code: str, on: bool):
        regions = set(self.e_regions)
        regions.add(code) if on else regions.discard(code)
        self.e_regions = sorted(regions)

    @rx.event
    def toggle_org(self, name: str, on: bool):
        orgs = set(self.e_orgs)
        orgs.add(name) if on else orgs.discard(name)
        self.e_orgs = sorted(orgs)
