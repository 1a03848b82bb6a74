"""A partner organisation's branding profile: company name, logo, colour, contact, footer.

Co-branded PDFs print these values (and the logo) into marketing's templates. The rules:

* Who: an organisation's members and staff may read its profile (it prefills the
  co-brand form); only its partner admins and admins may change it
  (``access.can_edit_branding``). Anyone else gets ``NotFound``.
* Validation is the co-branding engine's (``validate_branding`` / ``validate_logo``):
  control characters stripped, lengths bounded, email / phone / website / colour
  checked, the logo decoded in a limited child process and re-encoded clean.
  Errors name this module's field names (``partner_name``, ``brand_colour``, ``logo``, ...).
* Every change bumps ``version`` (generated PDFs are cached per branding version) and
  is audited as ``branding.updated`` with the changed fields (the logo by its hash and
  size, never its bytes).
* The logo is stored as ``branding/<org id>/logo-<version>.<ext>`` (blob first, row
  after, like every upload); an organisation without a saved profile shows its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from kbportal.models import OrgBranding, Organisation
from kbportal.services import access, audit
from kbportal.services.access import Principal
from kbportal.services.audit import Actor
from kbportal.services.errors import NotFound, ValidationFailed
from kbportal.storage import get_blob_store
from kbportal.timeutil import utcnow

PREFIX = "branding/"
# This service's field names -> the engine's (``cobrand.branding.validate_branding``).
FIELDS: dict[str, str] = {
    "partner_name": "company_name", "contact_name": "contact_name", "email": "email", "phone": "phone",
    "address": "address", "website": "website", "footer": "footer", "brand_colour": "brand_colour",
}
_OUR_NAME = {engine: ours for ours, engine in FIELDS.items()}


@dataclass(frozen=True)
class BrandingInfo:
    """An organisation's profile as pages and the CLI show it."""

    org_id: int
    org_name: str
    partner_name: str
    contact_name: str
    email: str
    phone: str
    address: str  # lines separated by "\n"
    website: str
    footer: str
    brand_colour: str  # "#RRGGBB" or ""
    version: int  # 0: never saved (the company name defaults to the organisation's name)
    has_logo: bool
    logo_mime_type: str
    logo_width: int
    logo_height: int
    logo_size: int
    logo_sha256: str
    updated_at: datetime | None
    can_edit: bool

    def values(self) -> dict[str, str]:
        """The standard template fields this profile fills (``partner_*``)."""
        return {
            "partner_name": self.partner_name, "partner_contact": self.contact_name, "partner_email": self.email,
            "partner_phone": self.phone, "partner_address": self.address, "partner_website": self.website,
            "partner_footer": self.footer,
        }


@dataclass(frozen=True)
class LogoTarget:
    """Where the stored logo is (for a preview route or a generation)."""

    org_id: int
    key: str
    storage_version_id: str
    size: int
    mime_type: str
    sha256: str


# --------------------------------------------------------------------------- reading


def _row(session: Session, org_id: int, *, for_update: bool = False) -> OrgBranding | None:
    query = select(OrgBranding).where(OrgBranding.org_id == org_id)
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()


def _default(org: Organisation) -> OrgBranding:
    return OrgBranding(org_id=org.id, partner_name=org.name, version=0)


def _info(org: Organisation, row: OrgBranding, can_edit: bool) -> BrandingInfo:
    return BrandingInfo(
        org_id=org.id, org_name=org.name, partner_name=row.partner_name, contact_name=row.contact_name,
        email=row.email, phone=row.phone, address=row.address, website=row.website, footer=row.footer,
        brand_colour=row.brand_colour, version=row.version, has_logo=bool(row.logo_key),
        logo_mime_type=row.logo_mime_type, logo_width=row.logo_width, logo_height=row.logo_height,
        logo_size=row.logo_size, logo_sha256=row.logo_sha256, updated_at=row.updated_at if row.version else None,
        can_edit=can_edit)


@dataclass(frozen=True)
class Snapshot:
    """What a generation needs: the profile and its logo, as of one version."""

    info: BrandingInfo
    logo: LogoTarget | None


def _logo_target(row: OrgBranding) -> LogoTarget | None:
    if not row.logo_key:
        return None
    return LogoTarget(org_id=row.org_id, key=row.logo_key, storage_version_id=row.logo_version_id,
                      size=row.logo_size, mime_type=row.logo_mime_type, sha256=row.logo_sha256)


def current(session: Session, org_id: int) -> Snapshot:
    """The profile and logo without an access check (for co-branding, which checked first)."""
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound()
    row = _row(session, org_id) or _default(org)
    return Snapshot(info=_info(org, row, can_edit=False), logo=_logo_target(row))


def get_profile(session: Session, principal: Principal, org_id: int) -> BrandingInfo:
    """An organisation's profile, for its members and staff; NotFound for anyone else."""
    if not access.can_view_branding(principal, org_id):
        raise NotFound()
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound()
    return _info(org, _row(session, org_id) or _default(org), can_edit=access.can_edit_branding(principal, org_id))


def open_logo(session: Session, principal: Principal, org_id: int) -> LogoTarget | None:
    """The stored logo (None when there is none); NotFound for those who may not see the profile."""
    if not access.can_view_branding(principal, org_id):
        raise NotFound()
    row = _row(session, org_id)
    return _logo_target(row) if row is not None else None


# --------------------------------------------------------------------------- changing


def _validated(row: OrgBranding, given: dict[str, str]):
    """The engine's clean profile of the stored values with ``given`` applied."""
    from kbportal.services.cobrand import validate_branding

    merged = {engine: given[ours] if ours in given else getattr(row, ours) for ours, engine in FIELDS.items()}
    try:
        return validate_branding(merged)
    except ValidationFailed as refusal:
        refusal.field = _OUR_NAME.get(refusal.field, refusal.field)
        raise


def _read_logo(logo_path: Path | None, logo_data: bytes | None):
    """The clean, re-encoded logo (``cobrand.LogoFile``); ValidationFailed on the "logo" field."""
    from kbportal.services.cobrand import DEFAULT_LIMITS, validate_logo
    from kbportal.services.cobrand.fields import megabytes

    if logo_data is None:
        assert logo_path is not None
        try:
            size = Path(logo_path).stat().st_size
        except OSError:
            raise ValidationFailed("doc.file_missing", field="logo") from None
        if size > DEFAULT_LIMITS.max_logo_bytes:  # refused before reading it into memory
            raise ValidationFailed("cobrand.logo_too_large", field="logo",
                                   max_mb=megabytes(DEFAULT_LIMITS.max_logo_bytes))
        logo_data = Path(logo_path).read_bytes()
    return validate_logo(logo_data)


def _logo_summary(row: OrgBranding) -> dict | None:
    if not row.logo_key:
        return None
    return {"sha256": row.logo_sha256, "mime_type": row.logo_mime_type, "width": row.logo_width,
            "height": row.logo_height, "size": row.logo_size}


def update_profile(
    session: Session, principal: Principal, actor: Actor, org_id: int, *, partner_name: str | None = None,
    contact_name: str | None = None, email: str | None = None, phone: str | None = None,
    address: str | None = None, website: str | None = None, footer: str | None = None,
    brand_colour: str | None = None, logo_path: Path | None = None, logo_data: bytes | None = None,
    remove_logo: bool = False,
) -> BrandingInfo:
    """Change what is given (None = keep, "" = clear; the company name cannot be cleared).

    A logo comes as a file (``logo_path``) or bytes (``logo_data``, e.g. a browser upload).
    Nothing changes when every value is already as given. The caller commits; the logo
    blob is written before (an aborted transaction leaves an unreferenced blob behind).
    """
    if not access.can_edit_branding(principal, org_id):
        raise NotFound()
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound()
    given = {name: value for name, value in (
        ("partner_name", partner_name), ("contact_name", contact_name), ("email", email), ("phone", phone),
        ("address", address), ("website", website), ("footer", footer), ("brand_colour", brand_colour),
    ) if value is not None}
    row = _row(session, org_id, for_update=True) or _default(org)
    clean = _validated(row, given)
    logo = _read_logo(logo_path, logo_data) if (logo_path is not None or logo_data is not None) else None

    changes: dict[str, list] = {}
    for ours, engine in FIELDS.items():
        before, after = getattr(row, ours), getattr(clean, engine)
        if before != after:
            changes[ours] = [before, after]
            setattr(row, ours, after)
    new_version = row.version + 1
    if logo is not None and logo.sha256 != row.logo_sha256:
        before_logo = _logo_summary(row)
        key = f"{PREFIX}{org_id}/logo-{new_version}{logo.extension}"
        blob = get_blob_store().put_bytes(key, logo.data, logo.mime_type)
        row.logo_key, row.logo_version_id, row.logo_sha256 = key, blob.version_id, logo.sha256
        row.logo_mime_type, row.logo_size = logo.mime_type, len(logo.data)
        row.logo_width, row.logo_height = logo.width, logo.height
        changes["logo"] = [before_logo, _logo_summary(row)]
    elif logo is None and remove_logo and row.logo_key:
        changes["logo"] = [_logo_summary(row), None]
        row.logo_key = row.logo_version_id = row.logo_sha256 = row.logo_mime_type = ""
        row.logo_size = row.logo_width = row.logo_height = 0

    if changes:
        row.version = new_version
        row.updated_at = utcnow()
        row.updated_by = principal.user_id
        session.add(row)
        session.flush()
        audit.record(session, actor, "branding.updated", "organisation", org_id, version=row.version,
                     changes=changes)
    return _info(org, row, can_edit=True)
