"""PDF templates: fill + flatten, logo and footer stamps, sanitised output, unsupported scripts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader

from cobrand_files import LOGO_RED, PARTNER, colour_box, make_logo, make_pdf_template, pdf_text, render_page
from kbportal.services.cobrand import generate
from kbportal.services.errors import ValidationFailed


def _generate(tmp_path: Path, template: Path, values=PARTNER, logo=b"default", name="out.pdf"):
    out = tmp_path / name
    info = generate(template, "pdf", values, make_logo() if logo == b"default" else logo, out,
                    title="Price list \u2013 Acme", author="Acme Widgets GmbH")
    return out, info


def test_fill_and_flatten(tmp_path: Path) -> None:
    out, info = _generate(tmp_path, make_pdf_template(tmp_path / "t.pdf"))
    assert info.pages == 1 and info.empty_fields == ()
    reader = PdfReader(out)
    assert "/AcroForm" not in reader.trailer["/Root"]
    assert not any(a.get_object().get("/Subtype") == "/Widget" for a in reader.pages[0].get("/Annots") or [])
    text = pdf_text(out)
    for key in ("partner_name", "partner_contact", "partner_email", "partner_phone", "partner_website", "event_date"):
        assert PARTNER[key] in text, key
    assert "Hauptstrasse 1" in text and "10115 Berlin" in text  # multiline field keeps its lines
    assert PARTNER["partner_footer"] in text
    assert "{{" not in text
    assert reader.metadata.title == "Price list \u2013 Acme" and reader.metadata.author == "Acme Widgets GmbH"


def test_logo_in_the_logo_field(tmp_path: Path) -> None:
    out, info = _generate(tmp_path, make_pdf_template(tmp_path / "t.pdf", logo_field=(0, (400, 680, 560, 760))))
    page = render_page(out, dpi=50)
    count, box = colour_box(page, LOGO_RED)
    # field 160 x 80 pt -> the square logo is 80 x 80 pt, centred: x 440..520, y (top) 32..112 pt
    scale = 50 / 72
    assert count > 0.8 * (80 * scale) ** 2
    assert abs(box[0] - 440 * scale) <= 3 and abs(box[2] - 520 * scale) <= 3
    assert abs(box[1] - (792 - 760) * scale) <= 3 and abs(box[3] - (792 - 680) * scale) <= 3


def test_logo_and_footer_on_every_page_without_logo_field(tmp_path: Path) -> None:
    template = make_pdf_template(tmp_path / "t.pdf", pages=3, logo_field=None,
                                 fields=[("partner_name", 0, (72, 600, 300, 620))])
    out, _ = _generate(tmp_path, template)
    reader = PdfReader(out)
    assert len(reader.pages) == 3
    for number in (1, 2, 3):
        assert PARTNER["partner_footer"] in (reader.pages[number - 1].extract_text() or "")
        count, box = colour_box(render_page(out, number, dpi=30), LOGO_RED)
        assert count > 100 and box[1] < 60 and box[0] > 612 * 30 / 72 / 2  # top right corner


def test_rotated_page_stamps_stay_upright(tmp_path: Path) -> None:
    template = make_pdf_template(tmp_path / "t.pdf", rotate=90, logo_field=None,
                                 fields=[("partner_name", 0, (72, 600, 300, 620))])
    out, _ = _generate(tmp_path, template)
    page = render_page(out, dpi=30)
    assert page.size[0] > page.size[1]  # landscape as displayed
    count, box = colour_box(page, LOGO_RED)
    assert count > 100 and box[1] < 60 and box[2] > page.size[0] * 0.7  # top right as the reader sees it
    from pypdf import PdfReader

    assert PARTNER["partner_footer"] in (PdfReader(out).pages[0].extract_text() or "")


def test_javascript_and_actions_stripped(tmp_path: Path) -> None:
    template = make_pdf_template(tmp_path / "t.pdf", hostile=True)
    assert b"/JavaScript" in template.read_bytes() and b"/Launch" in template.read_bytes()
    out, _ = _generate(tmp_path, template)
    data = out.read_bytes()
    for marker in (b"/JavaScript", b"/JS", b"/Launch", b"/OpenAction", b"/AA", b"app.alert", b"AFNumber",
                   b"cmd.exe", b"/AcroForm"):
        assert marker not in data, marker
    reader = PdfReader(out)
    links = [a.get_object() for a in reader.pages[0].get("/Annots") or []]
    assert [link["/A"]["/URI"] for link in links] == ["https://vendor.example/"]  # the harmless link stays
    assert PARTNER["partner_name"] in pdf_text(out)


@pytest.mark.parametrize("field,value", [
    ("partner_name", "株式会社サンプル"),
    ("partner_contact", "محمد علي"),
    ("event_date", "２０２７年３月"),
])
def test_non_latin_value_refused_in_pdf_path(tmp_path: Path, field: str, value: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        _generate(tmp_path, make_pdf_template(tmp_path / "t.pdf"), values={**PARTNER, field: value})
    assert err.value.code == "cobrand.pdf_script_unsupported"
    assert err.value.field == field and err.value.params == {"name": field}
    assert not (tmp_path / "out.pdf").exists()


def test_non_latin_footer_refused(tmp_path: Path) -> None:
    template = make_pdf_template(tmp_path / "t.pdf", fields=[("partner_name", 0, (72, 600, 300, 620))])
    with pytest.raises(ValidationFailed) as err:
        _generate(tmp_path, template, values={"partner_name": "Acme", "partner_footer": "日本のパートナー"})
    assert err.value.code == "cobrand.pdf_script_unsupported" and err.value.field == "partner_footer"


def test_latin_extended_values_render(tmp_path: Path) -> None:
    """Indonesian, German, Polish, French: within what the standard fonts can show."""
    values = {"partner_name": "Łódź Café Straße", "partner_contact": "Budi Santoso",
              "partner_address": "Jl. Jend. Sudirman Kav. 52–53\nJakarta Selatan"}
    template = make_pdf_template(tmp_path / "t.pdf", fields=[("partner_name", 0, (72, 600, 400, 620)),
                                                            ("partner_contact", 0, (72, 560, 400, 580)),
                                                            ("partner_address", 0, (72, 480, 400, 540))])
    out, _ = _generate(tmp_path, template, values=values)
    text = pdf_text(out)
    assert "Łódź Café Straße" in text and "Budi Santoso" in text and "Kav. 52–53" in text
    assert "?" not in text


def test_empty_fields_and_no_logo(tmp_path: Path) -> None:
    out, info = _generate(tmp_path, make_pdf_template(tmp_path / "t.pdf"), values={"partner_name": "Acme"}, logo=None)
    assert set(info.empty_fields) == {"partner_contact", "partner_email", "partner_phone", "partner_website",
                                      "partner_address", "event_date"}
    assert colour_box(render_page(out), LOGO_RED)[0] == 0
    assert "Acme" in pdf_text(out)


def test_ten_pages_are_compressed(tmp_path: Path) -> None:
    template = make_pdf_template(tmp_path / "t.pdf", pages=10, logo_field=None,
                                 fields=[("partner_name", 0, (72, 600, 300, 620))])
    out, info = _generate(tmp_path, template)
    assert info.pages == 10
    reader = PdfReader(out)
    for page in reader.pages:
        contents = page.get_contents()
        assert contents is not None
        for ref in page["/Contents"] if isinstance(page["/Contents"], list) else [page["/Contents"]]:
            assert "/Filter" in ref.get_object() or len(ref.get_object().get_data()) < 64
    # the logo image is stored once, not per page
    assert out.read_bytes().count(b"/Subtype /Image") == 1


def test_garbage_pdf_template(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 100)
    with pytest.raises(ValidationFailed) as err:
        _generate(tmp_path, bad)
    assert err.value.code == "cobrand.template_unreadable"
