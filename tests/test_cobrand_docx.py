"""DOCX templates: the fill (XML level) and the whole way to PDF through real LibreOffice."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from lxml import etree

from cobrand_files import (
    LOGO_FRAME_IN,
    LOGO_RED,
    PARTNER,
    PLACEHOLDER_BLUE,
    colour_box,
    make_docx_template,
    make_docx_with_linked_picture,
    make_logo,
    make_plain_docx_template,
    pdf_fonts,
    pdf_text,
    poppler_text,
    render_page,
)
from kbportal.services.cobrand import generate, images
from kbportal.services.cobrand.docx_fill import fill_docx
from kbportal.services.errors import ValidationFailed

pytest_plugins = ["cobrand_files"]

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
NS = {"w": W[1:-1], "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
      "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _all_text(parts: dict[str, bytes]) -> str:
    return "\n".join(p.decode("utf-8", "replace") for n, p in parts.items() if n.endswith((".xml", ".rels")))


@pytest.fixture
def filled(tmp_path: Path) -> tuple[dict[str, bytes], object]:
    template = make_docx_template(tmp_path / "t.docx")
    out = tmp_path / "filled.docx"
    report = fill_docx(template, PARTNER, images.load_logo(make_logo()), out, partner_name=PARTNER["partner_name"])
    return _parts(out), report


def test_every_placeholder_is_replaced(filled) -> None:
    parts, report = filled
    text = _all_text(parts)
    for name in ("partner_name", "partner_contact", "partner_email", "partner_phone", "partner_website",
                 "partner_footer", "event_date"):
        assert "{{" + name not in text, name
    assert "partner_website%7D" not in text and "%7B%7B" not in text
    assert "{{partner name}}" in text  # not a valid placeholder: left as it is
    assert set(report.fields) == set(PARTNER) and report.empty == () and report.logo_frames == 1


def test_split_placeholder_keeps_first_run_formatting(filled) -> None:
    parts, _ = filled
    body = etree.fromstring(parts["word/document.xml"])
    runs = [r for r in body.iter(f"{W}r") if "".join(t.text or "" for t in r.iter(f"{W}t")) == PARTNER["partner_name"]]
    assert runs, "the name landed in one run"
    assert runs[0].find(f"{W}rPr/{W}b") is not None  # the run where "{{" was is bold
    paragraph = next(p for p in body.iter(f"{W}p") if "Welcome" in "".join(t.text or "" for t in p.iter(f"{W}t")))
    assert "".join(t.text or "" for t in paragraph.iter(f"{W}t")) == f"Welcome, {PARTNER['partner_name']}!"


def test_headers_footers_of_all_sections_and_variants(filled) -> None:
    parts, _ = filled
    headers = {n: p.decode() for n, p in parts.items() if n.startswith("word/header")}
    footers = {n: p.decode() for n, p in parts.items() if n.startswith("word/footer")}
    assert len(headers) == 4 and len(footers) == 3
    joined = "".join(headers.values())
    for expected in (PARTNER["partner_website"], PARTNER["partner_name"], PARTNER["partner_phone"],
                     PARTNER["partner_contact"]):
        assert expected in joined
    assert all(PARTNER["partner_footer"] in f for f in footers.values())


def test_nested_table_text_box_and_multiline_address(filled) -> None:
    parts, _ = filled
    body = etree.fromstring(parts["word/document.xml"])
    inner = body.findall(".//w:tbl//w:tbl", NS)
    assert inner, "nested table kept"
    inner_text = [t.text for t in inner[0].iter(f"{W}t")]
    assert "Hauptstrasse 1" in inner_text and "10115 Berlin" in inner_text
    run = next(t.getparent() for t in inner[0].iter(f"{W}t") if t.text == "Hauptstrasse 1")
    assert [c.tag for c in run if c.tag in (f"{W}t", f"{W}br")] == [f"{W}t", f"{W}br", f"{W}t"]
    box = body.find(".//w:txbxContent", NS)
    assert "".join(t.text or "" for t in box.iter(f"{W}t")).startswith(f"{PARTNER['partner_name']} in a text box")


def test_hyperlink_targets_and_field_code(filled) -> None:
    parts, _ = filled
    rels = parts["word/_rels/document.xml.rels"].decode()
    assert 'Target="mailto:jane@acme.example"' in rels
    assert f'Target="{PARTNER["partner_website"]}"' in rels
    body = etree.fromstring(parts["word/document.xml"])
    instr = "".join(t.text or "" for t in body.iter(f"{W}instrText"))
    assert f'HYPERLINK "{PARTNER["partner_website"]}"' in instr


def test_logo_swapped_inside_frame(filled) -> None:
    from PIL import Image
    import io

    parts, _ = filled
    body = etree.fromstring(parts["word/document.xml"])
    inline = body.find(".//wp:inline", NS)
    extent = inline.find("wp:extent", NS)
    assert (int(extent.get("cx")), int(extent.get("cy"))) == (int(LOGO_FRAME_IN[0] * 914400), int(LOGO_FRAME_IN[1] * 914400))
    assert inline.find("wp:docPr", NS).get("descr") == f"{PARTNER['partner_name']} logo"
    rid = inline.find(".//a:blip", NS).get(f"{{{NS['r']}}}embed")
    rels = etree.fromstring(parts["word/_rels/document.xml.rels"])
    target = next(r.get("Target") for r in rels if r.get("Id") == rid)
    image = Image.open(io.BytesIO(parts["word/" + target]))
    assert image.size[0] == 2 * image.size[1]  # the frame's 2:1, the square logo centred with transparent sides
    assert image.getpixel((image.size[0] // 2, image.size[1] // 2))[:3] == LOGO_RED
    assert image.getpixel((2, image.size[1] // 2))[3] == 0
    assert b'Extension="png"' in parts["[Content_Types].xml"]


def test_empty_values_leave_fields_empty(tmp_path: Path) -> None:
    template = make_docx_template(tmp_path / "t.docx")
    out = tmp_path / "f.docx"
    report = fill_docx(template, {"partner_name": "Acme"}, None, out)
    text = _all_text(_parts(out))
    assert "{{partner_" not in text and "{{event" not in text
    assert "Acme" in text
    assert set(report.empty) == set(PARTNER) - {"partner_name"}


def test_broken_template_is_a_validation_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.docx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValidationFailed) as err:
        fill_docx(bad, PARTNER, None, tmp_path / "o.docx")
    assert err.value.code == "cobrand.template_unreadable"


# --------------------------------------------------------------------------- to PDF with LibreOffice


def test_generate_docx_pdf(tmp_path: Path, cobrand_pool) -> None:
    template = make_docx_template(tmp_path / "t.docx")
    out = tmp_path / "out.pdf"
    info = generate(template, "docx", PARTNER, make_logo(), out, title="Partner brochure \u2013 Acme",
                    author=PARTNER["partner_name"], converter=cobrand_pool)
    assert info.pages == 2 and info.size == out.stat().st_size and info.empty_fields == ()
    text = pdf_text(out)
    assert "{{" not in text.replace("{{partner name}}", "")
    for key in ("partner_name", "partner_contact", "partner_email", "partner_phone", "partner_website",
                "partner_footer", "event_date"):
        assert PARTNER[key] in text, key
    assert "Hauptstrasse 1" in text and "10115 Berlin" in text
    from pypdf import PdfReader

    meta = PdfReader(out).metadata
    assert meta.title == "Partner brochure \u2013 Acme" and meta.author == PARTNER["partner_name"]

    # the logo: red where the placeholder's blue frame was, square (aspect kept), blue gone
    page = render_page(out, 1, dpi=50)
    red, box = colour_box(page, LOGO_RED)
    assert red > 0.6 * 50 * 50, red  # ~1 x 1 inch at 50 dpi
    w, h = box[2] - box[0] + 1, box[3] - box[1] + 1
    assert abs(w - h) <= 3 and abs(w - LOGO_FRAME_IN[1] * 50) <= 4, box
    assert colour_box(page, PLACEHOLDER_BLUE)[0] == 0
    assert not out.with_name("out.pdf.part").exists()


def test_a_picture_the_template_links_from_the_servers_disk_is_not_loaded(tmp_path: Path, cobrand_pool) -> None:
    server_file = tmp_path / "server-file.png"  # say, another document's thumbnail in the data dir
    server_file.write_bytes(make_logo(size=(600, 600)))
    template = make_docx_with_linked_picture(tmp_path / "t.docx", server_file.as_uri())
    parts = _parts(template)
    parts["word/document.xml"] = parts["word/document.xml"].replace(b"{{partner_logo}}", b"A photo")  # no frame
    with zipfile.ZipFile(template, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    out = tmp_path / "out.pdf"
    generate(template, "docx", {}, None, out, title="t", author="a", converter=cobrand_pool)
    assert colour_box(render_page(out), LOGO_RED)[0] == 0
    assert "A picture linked from the web" in pdf_text(out)


def test_without_logo_the_frame_is_blank(tmp_path: Path, cobrand_pool) -> None:
    template = make_plain_docx_template(tmp_path / "t.docx", ["Hello {{partner_name}}"], logo=True)
    out = tmp_path / "out.pdf"
    generate(template, "docx", {"partner_name": "Acme"}, None, out, title="t", author="a", converter=cobrand_pool)
    page = render_page(out)
    assert colour_box(page, PLACEHOLDER_BLUE)[0] == 0 and colour_box(page, LOGO_RED)[0] == 0
    assert "Hello Acme" in pdf_text(out)


@pytest.mark.parametrize("name,contact", [
    ("株式会社サンプル商事", "山田 太郎"),
    ("شركة المثال للتجارة", "محمد علي"),
    ("PT Contoh Sejahtera Abadi", "Budi Santoso"),
])
def test_non_latin_partner_data_renders_with_embedded_fonts(tmp_path: Path, cobrand_pool, name: str,
                                                             contact: str) -> None:
    template = make_plain_docx_template(tmp_path / "t.docx", ["Partner: {{partner_name}}", "Contact: {{partner_contact}}",
                                                              "Address: {{partner_address}}"])
    out = tmp_path / "out.pdf"
    generate(template, "docx", {"partner_name": name, "partner_contact": contact,
                                "partner_address": "Jl. Merdeka No. 5\nJakarta Pusat"}, None, out,
             title=f"Brochure \u2013 {name}", author=name, converter=cobrand_pool)
    for extracted in (pdf_text(out), poppler_text(out)):
        flat = extracted.replace("\u202b", "").replace("\u202c", "")
        assert name in flat and contact in flat, extracted
    fonts = pdf_fonts(out)
    assert fonts and all(f["emb"] for f in fonts), fonts
    from pypdf import PdfReader

    assert PdfReader(out).metadata.title == f"Brochure \u2013 {name}"


def test_value_too_long_is_refused_before_converting(tmp_path: Path, cobrand_pool) -> None:
    template = make_plain_docx_template(tmp_path / "t.docx", ["{{partner_name}} {{slogan}}"])
    with pytest.raises(ValidationFailed) as err:
        generate(template, "docx", {"partner_name": "x" * 121}, None, tmp_path / "o.pdf", title="t", author="a",
                 converter=cobrand_pool)
    assert err.value.code == "cobrand.value_too_long" and err.value.field == "partner_name"
    assert err.value.params == {"name": "partner_name", "max": 120}
    with pytest.raises(ValidationFailed) as err:
        generate(template, "docx", {"slogan": "y" * 2001}, None, tmp_path / "o.pdf", title="t", author="a",
                 converter=cobrand_pool)
    assert err.value.field == "slogan"
    assert not (tmp_path / "o.pdf").exists()


def _add_footnotes(path: Path, text: str) -> None:
    """Add a footnotes part (python-docx has no API for it) holding ``text``."""
    w = NS["w"]
    footnotes = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:footnotes xmlns:w="{w}">'
                 f'<w:footnote w:id="1"><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:footnote></w:footnotes>')
    parts = _parts(path)
    parts["word/footnotes.xml"] = footnotes.encode()
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-'
                     b'officedocument.wordprocessingml.footnotes+xml"/></Types>')
    parts["word/_rels/document.xml.rels"] = parts["word/_rels/document.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdFn1" Type="http://schemas.openxmlformats.org/officeDocument/'
                             b'2006/relationships/footnotes" Target="footnotes.xml"/></Relationships>')
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_logo_frame_in_header_and_placeholder_in_footnotes(tmp_path: Path, cobrand_pool) -> None:
    import io

    import docx
    from docx.shared import Inches
    from PIL import Image

    document = docx.Document()
    placeholder = io.BytesIO()
    Image.new("RGB", (100, 100), PLACEHOLDER_BLUE).save(placeholder, "PNG")
    placeholder.seek(0)
    run = document.sections[0].header.paragraphs[0].add_run()
    run.add_picture(placeholder, width=Inches(1), height=Inches(1))
    run._r.find(".//wp:docPr", NS).set("title", "{{ partner_logo }}")  # alt text title works too
    document.add_paragraph("Body for {{partner_name}}")
    template = tmp_path / "t.docx"
    document.save(str(template))
    _add_footnotes(template, "Footnote by {{partner_contact}}")

    from kbportal.services.cobrand import detect_fields

    found = detect_fields(template, "docx")
    assert found.fields == ("partner_name", "partner_contact") and found.has_logo_frame

    out = tmp_path / "f.docx"
    report = fill_docx(template, PARTNER, images.load_logo(make_logo((400, 100))), out)
    assert report.logo_frames == 1
    parts = _parts(out)
    assert b"Footnote by Jane Doe" in parts["word/footnotes.xml"]
    header_rels = parts["word/_rels/header1.xml.rels"].decode()
    assert "kbportal-logo-1.png" in header_rels

    pdf = tmp_path / "out.pdf"
    generate(template, "docx", PARTNER, make_logo((400, 100)), pdf, title="t", author="a", converter=cobrand_pool)
    page = render_page(pdf)
    count, box = colour_box(page, LOGO_RED)
    assert count > 0 and box[3] < 100  # in the header, at the top of the page
    w, h = box[2] - box[0] + 1, box[3] - box[1] + 1
    assert abs(w / h - 4) < 0.5  # the 4:1 logo keeps its shape inside the square frame
    assert colour_box(page, PLACEHOLDER_BLUE)[0] == 0
