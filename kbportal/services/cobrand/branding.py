"""A partner organisation's branding profile, validated as plain data.

:func:`validate_branding` checks the text part (company name, brand colour, contact,
email, phone, address, website, footer line) and returns a clean
:class:`BrandingProfile`; :func:`validate_logo` checks an uploaded logo (PNG or JPEG
by content, byte size, pixel count) in a limited child process and returns a clean
re-encoded copy to store. Errors are ValidationFailed whose ``field`` names the form
field (``company_name``, ``email``, ..., ``logo``).

Text rules: NFC, control characters and bidirectional override controls removed,
runs of spaces collapsed, lengths bounded; only the address may have several lines.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from kbportal.services.cobrand.fields import DEFAULT_LIMITS, Limits, megabytes
from kbportal.services.cobrand.sanitize import clean_text
from kbportal.services.errors import ValidationFailed

MB = 1024 * 1024
FIELDS = ("company_name", "contact_name", "email", "phone", "address", "website", "footer", "brand_colour")
MAX_LENGTH = {"company_name": 120, "contact_name": 120, "email": 254, "phone": 40, "address": 400,
              "website": 300, "footer": 200}
MAX_ADDRESS_LINES = 6
_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
_PHONE = re.compile(r"\+?[\d\s().\-/]{4,40}?(?:\s*(?:ext\.?|x|#)\s*\d{1,6})?", re.IGNORECASE)
_HOST = re.compile(r"(?=.{1,253}$)(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})|localhost",
                   re.IGNORECASE)


@dataclass(frozen=True)
class BrandingProfile:
    company_name: str
    contact_name: str = ""
    email: str = ""
    phone: str = ""
    address: str = ""  # lines separated by "\n"
    website: str = ""  # absolute http(s) URL
    footer: str = ""
    brand_colour: str = ""  # "#RRGGBB" (upper case) or ""

    def values(self) -> dict[str, str]:
        """The standard template fields this profile fills."""
        return {
            "partner_name": self.company_name, "partner_contact": self.contact_name,
            "partner_email": self.email, "partner_phone": self.phone, "partner_address": self.address,
            "partner_website": self.website, "partner_footer": self.footer,
        }

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class LogoFile:
    data: bytes  # re-encoded: orientation applied, metadata dropped, at most 2000 px a side
    mime_type: str  # image/png or image/jpeg
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def extension(self) -> str:
        return ".png" if self.mime_type == "image/png" else ".jpg"


def _text(data: Mapping[str, object], name: str, *, required: bool = False, multiline: bool = False) -> str:
    raw = data.get(name)
    if raw is None and name == "brand_colour":
        raw = data.get("brand_color")
    limit = MAX_LENGTH.get(name, 200)
    text = clean_text(raw, multiline=multiline, max_length=10 * limit + 100)
    if required and not text:
        raise ValidationFailed("cobrand.branding_required", field=name)
    if len(text) > limit:
        raise ValidationFailed("cobrand.branding_too_long", field=name, max=limit)
    return text


def normalize_colour(value: str) -> str:
    match = _HEX_COLOUR.fullmatch(value.strip())
    if not match:
        raise ValidationFailed("cobrand.branding_colour_invalid", field="brand_colour", value=value[:20])
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return "#" + digits.upper()


def normalize_email(value: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValidationFailed("cobrand.branding_email_invalid", field="email") from None


def normalize_phone(value: str) -> str:
    if not _PHONE.fullmatch(value):
        raise ValidationFailed("cobrand.branding_phone_invalid", field="phone")
    digits = sum(ch.isdecimal() for ch in value)
    if digits < 4 or digits > 20:
        raise ValidationFailed("cobrand.branding_phone_invalid", field="phone")
    return value


def normalize_website(value: str) -> str:
    """An absolute http(s) URL: ``example.com`` becomes ``https://example.com``."""
    text = value.strip()
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", text) and not re.match(r"^[^:/]+:\d", text):
            raise ValidationFailed("cobrand.branding_website_invalid", field="website")  # javascript:, mailto:, ...
        text = "https://" + text
    invalid = ValidationFailed("cobrand.branding_website_invalid", field="website")
    if any(ch.isspace() for ch in text) or any(unicodedata.category(ch)[0] == "C" for ch in text):
        raise invalid
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = parts.port  # raises on a bad port
    except ValueError:
        raise invalid from None
    if parts.scheme.lower() not in ("http", "https") or parts.username or parts.password or not host:
        raise invalid
    if not (_HOST.fullmatch(host) or _is_ip(host)):
        raise invalid
    netloc = host if port is None else f"{host}:{port}"
    if ":" in host:
        netloc = f"[{host}]" if port is None else f"[{host}]:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def validate_branding(data: Mapping[str, object]) -> BrandingProfile:
    """A clean profile from form data (keys as :data:`FIELDS`; ``brand_color`` also accepted).
    Raises ValidationFailed with ``field`` set to the offending key."""
    company = _text(data, "company_name", required=True)
    contact = _text(data, "contact_name")
    email = _text(data, "email")
    phone = _text(data, "phone")
    address = _text(data, "address", multiline=True)
    website = _text(data, "website")
    footer = _text(data, "footer")
    colour = _text(data, "brand_colour")
    if address.count("\n") + 1 > MAX_ADDRESS_LINES:
        raise ValidationFailed("cobrand.branding_address_lines", field="address", max=MAX_ADDRESS_LINES)
    return BrandingProfile(
        company_name=company,
        contact_name=contact,
        email=normalize_email(email) if email else "",
        phone=normalize_phone(phone) if phone else "",
        address=address,
        website=normalize_website(website) if website else "",
        footer=footer,
        brand_colour=normalize_colour(colour) if colour else "",
    )


def validate_logo(data: bytes, *, limits: Limits | None = None, work: Path | None = None) -> LogoFile:
    """Check an uploaded logo and return the clean copy to store (decoded and re-encoded in a
    limited child process). Raises ValidationFailed (field "logo")."""
    from kbportal.services.cobrand import worker
    from kbportal.services.extraction import workdir

    limits = limits or DEFAULT_LIMITS
    if not data:
        raise ValidationFailed("cobrand.logo_unreadable", field="logo")
    if len(data) > limits.max_logo_bytes:
        raise ValidationFailed("cobrand.logo_too_large", field="logo", max_mb=megabytes(limits.max_logo_bytes))
    if not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")):
        raise ValidationFailed("cobrand.logo_type", field="logo")
    with workdir(work) as tmp:
        source = tmp / "upload.bin"
        source.write_bytes(data)
        result = worker.run("logo", source, {}, limits, work=tmp)
        if not result.get("ok"):
            if not result.get("code"):  # killed, out of memory or crashed: not an image we can use
                raise ValidationFailed("cobrand.logo_unreadable", field="logo")
            raise ValidationFailed(result["code"], field="logo", **(result.get("params") or {}))
        clean = (tmp / result["file"]).read_bytes()
    return LogoFile(data=clean, mime_type=result["mime_type"], width=int(result["width"]),
                    height=int(result["height"]))
