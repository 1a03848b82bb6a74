"""The co-brand page's images: page-1 preview of a generated PDF and the branding logo,
as services and as routes (the same access rules as the PDF download).

Reuses the world of ``test_cobranding`` (SQLite, filesystem storage, the real upload
check and engine; PDF templates, so no LibreOffice is needed here).
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from cobrand_files import LOGO_RED, colour_box, make_logo, make_pdf_template
from factories import principal_of
from kbportal.services import branding, cobranding
from kbportal.services.access import AudienceRule
from kbportal.services.errors import NotFound
from test_cobranding import (  # noqa: F401 - fixtures
    ask,
    brand,
    client_for,
    generated_id,
    session,
    template,
    upload_template,
    world,
)

pytest_plugins = ["cobrand_files"]

ALL = AudienceRule(all_regions=True)


@pytest.fixture
def made(world, session, tmp_path) -> int:
    """A PDF generated for Acme (branded, with its logo) by Ana."""
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"), audience=ALL)
    brand(session, world)
    return generated_id(session, world.ana, ask(session, world.ana, doc_id))


def test_the_preview_is_page_one_as_png_rendered_once(world, session, made):
    path = cobranding.preview_png(session, principal_of(session, world.paula), made)

    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
        assert 300 < width < 800 and 300 < height < 800  # ~60 dpi of a letter/A4 page
        count, _ = colour_box(image.convert("RGB"), LOGO_RED)
        assert count > 0  # the logo is stamped on page 1
    stamp = path.stat().st_mtime_ns
    again = cobranding.preview_png(session, principal_of(session, world.ana), made)
    assert again == path and again.stat().st_mtime_ns == stamp  # cached, not rendered again


def test_the_preview_of_another_organisations_pdf_is_not_found(world, session, made):
    with pytest.raises(NotFound):
        cobranding.preview_png(session, principal_of(session, world.eve), made)
    assert cobranding.preview_png(session, principal_of(session, world.marketing), made).exists()  # staff see all


def test_the_preview_route_serves_a_png_to_my_organisation_and_404_to_others(world, session, made):
    url = f"/api/cobrand/{made}/preview.png"

    mine = client_for("ana@acme.example").get(url)
    assert mine.status_code == 200 and mine.headers["content-type"] == "image/png"
    assert mine.content.startswith(b"\x89PNG")
    assert client_for("ana@acme.example").get(url, headers={"If-None-Match": mine.headers["etag"]}).status_code == 304

    other = client_for("eve@euro.example").get(url)
    missing = client_for("eve@euro.example").get(f"/api/cobrand/{made + 999}/preview.png")
    assert other.status_code == missing.status_code == 404 and other.json() == missing.json()
    assert client_for(None).get(url).status_code == 404


def test_the_logo_route_shows_the_stored_logo_to_members_and_staff_only(world, session):
    assert client_for("ana@acme.example").get(f"/api/branding/{world.acme}/logo").status_code == 404  # none yet
    brand(session, world)
    url = f"/api/branding/{world.acme}/logo"
    info = branding.get_profile(session, principal_of(session, world.paula), world.acme)

    for email in ("ana@acme.example", "mia@vendor.example"):
        answer = client_for(email).get(url)
        assert answer.status_code == 200 and answer.headers["content-type"] == info.logo_mime_type
        assert "inline" in answer.headers["content-disposition"]
        with Image.open(io.BytesIO(answer.content)) as image:
            assert image.size == (info.logo_width, info.logo_height)
    assert client_for("eve@euro.example").get(url).status_code == 404
    assert client_for(None).get(url).status_code == 404


def test_a_new_logo_is_served_after_a_change(world, session):
    brand(session, world)
    first = client_for("paula@acme.example").get(f"/api/branding/{world.acme}/logo").content
    brand(session, world, logo_data=make_logo(color=(20, 160, 40)))
    second = client_for("paula@acme.example").get(f"/api/branding/{world.acme}/logo").content
    assert first != second
