"""Template field detection (in the limited child) and refusing bad templates."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from cobrand_files import make_docx_template, make_pdf_template, make_plain_docx_template
from docfiles import make_docx_bomb, make_encrypted_pdf, make_pdf, make_random_bytes
from kbportal.services.cobrand import Limits, TemplateFields, detect_fields
from kbportal.services.cobrand.fields import detect_in_process, normalize_pdf_field_name
from kbportal.services.errors import ValidationFailed


def test_docx_fields_in_document_order_with_logo_frame(tmp_path: Path) -> None:
    found = detect_fields(make_docx_template(tmp_path / "t.docx"), "docx")
    assert isinstance(found, TemplateFields)
    # body first (split runs, spaces inside braces, hyperlinks, field codes, tables, text box), then headers/footers
    assert found.fields == ("partner_name", "partner_contact", "partner_email", "event_date", "partner_website",
                            "partner_phone", "partner_address", "partner_footer")
    assert found.custom == ("event_date",)
    assert "event_date" not in found.standard and "partner_name" in found.standard
    assert found.has_logo_frame
    assert found.title == "Partner brochure"
    assert found.malformed == ("{{partner name}}",)


def test_docx_placeholder_only_in_header_text_box_or_link(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("No placeholder in the body")
    document.sections[0].header.paragraphs[0].text = "{{Region_Code}}"  # names are matched case-insensitively
    document.save(str(tmp_path / "h.docx"))
    found = detect_fields(tmp_path / "h.docx", "docx")
    assert found.fields == ("region_code",) and found.custom == ("region_code",)
    assert not found.has_logo_frame


def test_docx_with_only_a_logo_frame_is_a_template(tmp_path: Path) -> None:
    found = detect_fields(make_plain_docx_template(tmp_path / "l.docx", ["Plain text"], logo=True), "docx")
    assert found.fields == () and found.has_logo_frame


def test_pdf_fields_in_page_order(tmp_path: Path) -> None:
    template = make_pdf_template(tmp_path / "t.pdf", pages=2, fields=[
        ("partner_name", 0, (72, 700, 300, 720)), ("{{ Event Date }}", 1, (72, 600, 300, 620)),
        ("partner_email", 0, (72, 650, 300, 670)), ("1bad", 0, (72, 600, 300, 620))])
    found = detect_fields(template, "pdf")
    assert found.fields == ("partner_name", "partner_email", "event_date")
    assert found.custom == ("event_date",)
    assert found.has_logo_frame and found.title == "Price list"


def test_pdf_field_names_normalised() -> None:
    assert normalize_pdf_field_name("{{ Partner_Name }}") == "partner_name"
    assert normalize_pdf_field_name("Event Date") == "event_date"
    assert normalize_pdf_field_name("form.partner_phone") == "form.partner_phone"
    assert normalize_pdf_field_name("1st") is None and normalize_pdf_field_name("") is None


@pytest.mark.parametrize("kind", ["docx", "pdf"])
def test_garbage_is_unreadable(tmp_path: Path, kind: str) -> None:
    path = make_random_bytes(tmp_path / f"junk.{kind}", 20_000)
    with pytest.raises(ValidationFailed) as err:
        detect_fields(path, kind)
    assert err.value.code == "cobrand.template_unreadable" and err.value.field == "file"


def test_pdf_declared_as_docx_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as err:
        detect_fields(make_pdf(tmp_path / "x.pdf"), "docx")
    assert err.value.code == "cobrand.template_unreadable"


def test_zip_bomb_refused_while_inflating(tmp_path: Path) -> None:
    bomb = make_docx_bomb(tmp_path / "bomb.docx", inflated_mb=12)
    assert bomb.stat().st_size < 200_000
    with pytest.raises(ValidationFailed) as err:
        detect_fields(bomb, "docx", limits=Limits(max_inflated_bytes=8 * 1024 * 1024))
    assert err.value.code == "cobrand.template_inflates_too_much" and err.value.params == {"max_mb": 8}


def test_zip_bomb_with_lying_sizes_refused(tmp_path: Path) -> None:
    """The headers claim 1 KB: the declared sizes pass, reading must still stop it."""
    import struct

    source = make_plain_docx_template(tmp_path / "s.docx", ["{{partner_name}}"])
    out = tmp_path / "liar.docx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            if item.filename != "word/document.xml":
                zout.writestr(item.filename, zin.read(item.filename))
        zout.writestr("word/document.xml", zin.read("word/document.xml") + b" " * (12 * 1024 * 1024))
    data = bytearray(out.read_bytes())
    name = b"word/document.xml"
    for signature, size_offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = 0
        while (pos := data.find(signature, pos)) >= 0:
            name_len = struct.unpack_from("<H", data, pos + (26 if signature == b"PK\x03\x04" else 28))[0]
            start = pos + (30 if signature == b"PK\x03\x04" else 46)
            if data[start:start + name_len] == name:
                struct.pack_into("<I", data, pos + size_offset, 1024)
            pos += 4
    out.write_bytes(bytes(data))
    with zipfile.ZipFile(out) as z:
        assert z.getinfo("word/document.xml").file_size == 1024
    with pytest.raises(ValidationFailed) as err:
        detect_fields(out, "docx", limits=Limits(max_inflated_bytes=8 * 1024 * 1024))
    assert err.value.code in ("cobrand.template_inflates_too_much", "cobrand.template_unreadable")


def test_template_file_too_large(tmp_path: Path) -> None:
    template = make_plain_docx_template(tmp_path / "t.docx", ["{{partner_name}}"])
    with pytest.raises(ValidationFailed) as err:
        detect_fields(template, "docx", limits=Limits(max_template_bytes=1024))
    assert err.value.code == "cobrand.template_too_large" and err.value.params == {"max_mb": 0}


def test_docx_without_fields_refused(tmp_path: Path) -> None:
    path = make_plain_docx_template(tmp_path / "plain.docx", ["Just a brochure", "{{ not a placeholder"])
    with pytest.raises(ValidationFailed) as err:
        detect_fields(path, "docx")
    assert err.value.code == "cobrand.template_no_fields"


def test_pdf_without_fields_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as err:
        detect_fields(make_pdf(tmp_path / "p.pdf", ["No form here"]), "pdf")
    assert err.value.code == "cobrand.template_no_fields"


def test_encrypted_pdf_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as err:
        detect_fields(make_encrypted_pdf(tmp_path / "e.pdf"), "pdf")
    assert err.value.code == "cobrand.template_encrypted"


def test_too_many_pages_refused(tmp_path: Path) -> None:
    template = make_pdf_template(tmp_path / "t.pdf", pages=3)
    with pytest.raises(ValidationFailed) as err:
        detect_in_process(template, "pdf", Limits(max_pdf_pages=2))
    assert err.value.code == "cobrand.template_too_many_pages" and err.value.params["max_pages"] == 2


def test_unknown_kind_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as err:
        detect_fields(make_pdf(tmp_path / "p.pdf"), "pptx")
    assert err.value.code == "cobrand.template_kind"


def test_macro_document_refused(tmp_path: Path) -> None:
    source = make_plain_docx_template(tmp_path / "m.docx", ["{{partner_name}}"])
    out = tmp_path / "macro.docx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"document.main+xml", b"document.macroEnabled.main+xml")
            zout.writestr(item, data)
    with pytest.raises(ValidationFailed) as err:
        detect_fields(out, "docx")
    assert err.value.code == "cobrand.template_not_docx"


def test_child_timeout_is_a_clear_error(tmp_path: Path) -> None:
    template = make_docx_template(tmp_path / "t.docx")
    with pytest.raises(ValidationFailed) as err:
        detect_fields(template, "docx", limits=Limits(wall_seconds=0.01))
    assert err.value.code == "cobrand.template_timeout"
