"""Branding profile validation: text fields and the logo."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cobrand_files import make_logo
from docfiles import make_huge_png
from kbportal.services.cobrand import Limits, validate_branding, validate_logo
from kbportal.services.errors import ValidationFailed

GOOD = {
    "company_name": "  Acme\u00a0 Widgets\tGmbH ",
    "contact_name": "Jane\x00 Doe",
    "email": "Jane@Acme.Example",
    "phone": "+49 (30) 123-4567 ext. 12",
    "address": "Hauptstrasse 1\r\n\r\n  10115   Berlin \n",
    "website": "acme.example/partners",
    "footer": "Certified\npartner \u202eevil",
    "brand_colour": "#0a3",
}


def test_valid_profile_is_cleaned() -> None:
    profile = validate_branding(GOOD)
    assert profile.company_name == "Acme Widgets GmbH"
    assert profile.contact_name == "Jane Doe"
    assert profile.email == "Jane@acme.example"
    assert profile.phone == "+49 (30) 123-4567 ext. 12"
    assert profile.address == "Hauptstrasse 1\n\n10115 Berlin"
    assert profile.website == "https://acme.example/partners"
    assert profile.footer == "Certified partner evil"  # one line, no bidi override
    assert profile.brand_colour == "#00AA33"
    values = profile.values()
    assert values["partner_name"] == "Acme Widgets GmbH" and values["partner_website"] == profile.website


def test_non_latin_profile() -> None:
    profile = validate_branding({"company_name": "株式会社サンプル", "contact_name": "محمد\u200f علي",
                                 "email": "info@contoh.co.id", "phone": "+62 21 555 0100",
                                 "website": "https://例え.jp/", "brand_color": "ABCDEF"})
    assert profile.company_name == "株式会社サンプル"
    assert profile.contact_name == "محمد\u200f علي"  # RLM is kept: Arabic needs it
    assert profile.brand_colour == "#ABCDEF"
    assert profile.website == "https://例え.jp/"


@pytest.mark.parametrize("field,value,code", [
    ("company_name", "   ", "cobrand.branding_required"),
    ("company_name", "x" * 121, "cobrand.branding_too_long"),
    ("email", "not-an-email", "cobrand.branding_email_invalid"),
    ("email", "a@b", "cobrand.branding_email_invalid"),
    ("phone", "call me maybe", "cobrand.branding_phone_invalid"),
    ("phone", "12", "cobrand.branding_phone_invalid"),
    ("website", "javascript:alert(1)", "cobrand.branding_website_invalid"),
    ("website", "ftp://acme.example", "cobrand.branding_website_invalid"),
    ("website", "https://user:pw@acme.example", "cobrand.branding_website_invalid"),
    ("website", "https://acme", "cobrand.branding_website_invalid"),
    ("website", "https://acme.example:99999/", "cobrand.branding_website_invalid"),
    ("brand_colour", "red", "cobrand.branding_colour_invalid"),
    ("brand_colour", "#12345", "cobrand.branding_colour_invalid"),
    ("footer", "f" * 201, "cobrand.branding_too_long"),
    ("address", "\n".join(["line"] * 7), "cobrand.branding_address_lines"),
])
def test_invalid_fields(field: str, value: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        validate_branding({**GOOD, field: value})
    assert err.value.code == code
    assert err.value.field == field


def test_website_with_port_and_ip() -> None:
    assert validate_branding({**GOOD, "website": "acme.example:8443/x"}).website == "https://acme.example:8443/x"
    assert validate_branding({**GOOD, "website": "http://192.0.2.10/"}).website == "http://192.0.2.10/"


def test_png_logo_is_reencoded(tmp_path: Path) -> None:
    from PIL import Image

    logo = validate_logo(make_logo((600, 200), transparent_border=10), work=tmp_path / "w")
    assert logo.mime_type == "image/png" and (logo.width, logo.height) == (600, 200)
    image = Image.open(io.BytesIO(logo.data))
    assert image.mode == "RGBA"  # transparency kept
    assert len(logo.sha256) == 64 and logo.extension == ".png"


def test_jpeg_logo_orientation_applied_and_metadata_dropped() -> None:
    from PIL import Image

    image = Image.new("RGB", (400, 100), (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    exif[0x010F] = "SecretCam"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    logo = validate_logo(out.getvalue())
    assert logo.mime_type == "image/jpeg" and (logo.width, logo.height) == (100, 400)
    assert b"SecretCam" not in logo.data


def test_big_logo_scaled_down() -> None:
    logo = validate_logo(make_logo((4000, 1000)))
    assert max(logo.width, logo.height) == 2000


@pytest.mark.parametrize("data,code", [
    (b"GIF89a" + b"\x00" * 100, "cobrand.logo_type"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "cobrand.logo_type"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 500, "cobrand.logo_unreadable"),
    (b"", "cobrand.logo_unreadable"),
])
def test_bad_logo(data: bytes, code: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        validate_logo(data)
    assert err.value.code == code and err.value.field == "logo"


def test_logo_too_many_bytes() -> None:
    big = b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024)
    with pytest.raises(ValidationFailed) as err:
        validate_logo(big)
    assert err.value.code == "cobrand.logo_too_large" and err.value.params == {"max_mb": 5}
    with pytest.raises(ValidationFailed) as err:
        validate_logo(make_logo((300, 300)), limits=Limits(max_logo_bytes=100))
    assert err.value.params == {"max_mb": 0}


def test_logo_too_many_pixels_refused_before_decoding(tmp_path: Path) -> None:
    huge = make_huge_png(tmp_path / "huge.png", side=8000).read_bytes()  # 64 MP, a few hundred KB
    with pytest.raises(ValidationFailed) as err:
        validate_logo(huge)
    assert err.value.code == "cobrand.logo_too_many_pixels"
    assert err.value.params == {"megapixels": 64.0, "max_megapixels": 25}


def test_tiny_logo_refused() -> None:
    with pytest.raises(ValidationFailed) as err:
        validate_logo(make_logo((8, 8)))
    assert err.value.code == "cobrand.logo_too_small"
