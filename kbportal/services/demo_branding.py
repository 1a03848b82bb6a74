"""Demo branding profiles: every demo partner organisation gets a complete co-branding
profile (company name, contact, email, phone, address, website, footer line, brand
colour) and a logo, so the co-brand form and its live preview show what co-branding
looks like when a partner has done their part.

Profiles are saved through :func:`kbportal.services.branding.update_profile`, so the
engine's validation applies and every profile is audited (``branding.updated``, the logo
by its hash) exactly like a partner admin's save. Seeding is idempotent: an organisation
that already has a profile row (seeded before, or edited by a user) is left alone.

Logos are drawn at seed time with Pillow (no binary files in the repository): a rounded
square in the brand colour with the organisation's initials (or one Japanese character
for the Japanese partner) in white, 400 x 400 pixels, transparent corners.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

from sqlmodel import Session, select

from kbportal.models import OrgBranding
from kbportal.services import branding
from kbportal.services.access import Principal
from kbportal.services.audit import Actor

LOGO_SIZE = 400
_SUPERSAMPLE = 4  # drawn 4x larger and scaled down: smooth edges and letters


@dataclass(frozen=True)
class DemoBranding:
    org: str  # the demo organisation's name (DEMO_ORGS)
    partner_name: str
    contact_name: str
    email: str
    phone: str
    address: str  # lines separated by "\n"
    website: str
    footer: str
    brand_colour: str  # "#RRGGBB"
    mark: str  # the letters on the logo
    mark_language: str = ""  # "ja": the mark needs a Japanese font
    latin_mark: str = ""  # the mark when no such font is installed


DEMO_BRANDING: tuple[DemoBranding, ...] = (
    DemoBranding(
        "PT Nusantara Solusi Digital", "PT Nusantara Solusi Digital", "Budi Santoso", "sales@nusantara.example.com",
        "+62 21 5080 1234",
        "Menara Sudirman, Lantai 12\nJl. Jenderal Sudirman Kav. 60\nJakarta Selatan 12190\nIndonesia",
        "https://www.nusantara.example.com", "PT Nusantara Solusi Digital – mitra resmi Anda di Indonesia",
        "#0F766E", "NS"),
    DemoBranding(
        "Sakura Systems K.K.", "さくらシステムズ株式会社", "田中 由紀", "info@sakura.example.com",
        "+81 3-5555-0123", "〒100-0005\n東京都千代田区丸の内1-9-1\n丸の内センタービル 8階",
        "https://www.sakura.example.com", "さくらシステムズ株式会社 – 認定パートナー",
        "#C2185B", "桜", "ja", "SS"),
    DemoBranding(
        "Dragon Gate Technology Ltd", "Dragon Gate Technology Ltd", "Wang Wei", "sales@dragongate.example.com",
        "+86 755 8888 1234", "Room 1205, Tower B\nKexing Science Park\n15 Keyuan Road, Nanshan\n"
        "Shenzhen 518057\nChina", "https://www.dragongate.example.com",
        "Dragon Gate Technology Ltd – your systems integrator in South China", "#B91C1C", "DG"),
    DemoBranding(
        "Rheinland Distribution GmbH", "Rheinland Distribution GmbH", "Klaus Becker", "vertrieb@rheinland.example.com",
        "+49 221 9876 5430", "Rheinauhafen 12\n50678 Köln\nDeutschland", "https://www.rheinland.example.com",
        "Rheinland Distribution GmbH · Ihr zertifizierter Partner in Deutschland", "#1D4ED8", "RD"),
    DemoBranding(
        "Lumière Conseil SAS", "Lumière Conseil SAS", "Camille Dubois", "contact@lumiere.example.com",
        "+33 1 42 68 53 00", "18 rue de la Paix\n75002 Paris\nFrance", "https://www.lumiere.example.com",
        "Lumière Conseil SAS – votre partenaire certifié", "#6D28D9", "LC"),
    DemoBranding(
        "Nordic Channel AB", "Nordic Channel AB", "Lars Nilsson", "sales@nordic.example.com",
        "+46 8 555 012 34", "Kungsgatan 44\n111 35 Stockholm\nSverige", "https://www.nordic.example.com",
        "Nordic Channel AB – din certifierade partner i Norden", "#0369A1", "NC"),
    DemoBranding(
        "Great Lakes IT Solutions Inc.", "Great Lakes IT Solutions Inc.", "Mike Johnson",
        "sales@greatlakes.example.com", "+1 312 555 0147", "233 S Wacker Dr, Suite 4200\nChicago, IL 60606\nUSA",
        "https://www.greatlakes.example.com", "Great Lakes IT Solutions Inc. – your certified partner in the Midwest",
        "#15803D", "GL"),
    DemoBranding(
        "Horizonte Tecnologia Ltda.", "Horizonte Tecnologia Ltda.", "João Silva", "contato@horizonte.example.com",
        "+55 11 3555-0199", "Av. Paulista, 1578 - 9º andar\nBela Vista, São Paulo - SP\n01310-200\nBrasil",
        "https://www.horizonte.example.com", "Horizonte Tecnologia Ltda. – seu parceiro certificado no Brasil",
        "#EA580C", "HT"),
    DemoBranding(
        "Andes Integradores S.A.", "Andes Integradores S.A.", "Sofía Rojas", "contacto@andes.example.com",
        "+56 2 2555 0100", "Av. Apoquindo 4501, Of. 1203\nLas Condes, Santiago\nChile",
        "https://www.andes.example.com", "Andes Integradores S.A. – su socio certificado en Chile", "#92400E", "AI"),
)

# --------------------------------------------------------------------------- logos

# Bold sans fonts the setup installs (fonts-noto-core, fonts-dejavu), when fc-match is missing.
_LATIN_FONTS = ("/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
                "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
                "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf")
_JAPANESE_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
                   "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc")


def _fontconfig(args: list[str]) -> list[str]:
    if shutil.which(args[0]) is None:
        return []
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip().rstrip(":").strip() for line in out.splitlines() if line.strip()]


@lru_cache(maxsize=4)
def font_path(language: str = "") -> str | None:
    """A bold sans font file for the mark (``language`` "ja": one with Japanese glyphs), or None."""
    import os

    if language == "ja":
        found = _fontconfig(["fc-list", ":lang=ja:style=Bold", "file"])
        candidates = sorted(found, key=lambda p: ("Sans" not in p, p)) + list(_JAPANESE_FONTS)
    else:
        candidates = _fontconfig(["fc-match", "-f", "%{file}\n", "sans-serif:bold"]) + list(_LATIN_FONTS)
    return next((path for path in candidates if path and os.path.isfile(path)), None)


def _font(language: str, size: int):
    from PIL import ImageFont

    path = font_path(language)
    if path:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size)  # Pillow's own scalable font


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def make_logo(mark: str, colour: str, *, language: str = "", latin_mark: str = "", size: int = LOGO_SIZE) -> bytes:
    """A PNG: a rounded square in ``colour`` with ``mark`` centred in white, transparent corners.
    A mark that needs a ``language`` font no installed font has becomes ``latin_mark``."""
    from PIL import Image, ImageDraw

    if language and font_path(language) is None:
        language, mark = "", latin_mark or mark
    big = size * _SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=round(big * 0.22), fill=_hex_rgb(colour) + (255,))
    font_size = round(big * (0.52 if len(mark) <= 1 else 0.40 if len(mark) == 2 else 0.30))
    font = _font(language, font_size)
    left, top, right, bottom = draw.textbbox((0, 0), mark, font=font)
    x = (big - (right - left)) / 2 - left
    y = (big - (bottom - top)) / 2 - top
    draw.text((x, y), mark, font=font, fill=(255, 255, 255, 255))
    out = io.BytesIO()
    image.resize((size, size), Image.Resampling.LANCZOS).save(out, "PNG", optimize=True)
    return out.getvalue()


# --------------------------------------------------------------------------- seeding


def seed_branding(session: Session, principal: Principal, actor: Actor, org_ids: dict[str, int]) -> int:
    """Save the demo profile (and logo) of every demo organisation that has none yet; returns how many."""
    has_profile = set(session.exec(select(OrgBranding.org_id).where(
        OrgBranding.org_id.in_(list(org_ids.values())))))  # type: ignore[union-attr]
    created = 0
    for spec in DEMO_BRANDING:
        org_id = org_ids.get(spec.org)
        if org_id is None or org_id in has_profile:
            continue
        branding.update_profile(
            session, principal, actor, org_id, partner_name=spec.partner_name, contact_name=spec.contact_name,
            email=spec.email, phone=spec.phone, address=spec.address, website=spec.website, footer=spec.footer,
            brand_colour=spec.brand_colour,
            logo_data=make_logo(spec.mark, spec.brand_colour, language=spec.mark_language,
                                latin_mark=spec.latin_mark))
        created += 1
    return created
