"""Real co-branding templates built in code, and the shared LibreOffice pool fixture.

Test modules load this as a plugin (``pytest_plugins = ["cobrand_files"]``) so that the
session-scoped ``cobrand_pool`` is one pool for the whole run, stopped at the end.

* :func:`make_docx_template` - python-docx plus raw XML where python-docx has no API:
  placeholders split across runs, nested tables, headers/footers of two sections
  (first page, even pages), a DrawingML text box, hyperlinks whose targets hold
  placeholders (plain and percent-encoded), a field-code hyperlink, a logo picture
  whose alt text is ``{{partner_logo}}`` (a blue placeholder image, 2 x 1 inch).
* :func:`make_pdf_template` - an AcroForm PDF written with pypdf's object model (no
  reportlab): text fields, a ``partner_logo`` button, and optional hostile content
  (document JavaScript, open action, launch link, field keystroke script).
* :func:`make_logo` - a PNG/JPEG in one colour, to find again in rendered pages.

(PYTEST_DONT_REWRITE: test modules import helpers from here before pytest loads it as a plugin.)
"""

from __future__ import annotations

import io
import subprocess
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

LOGO_RED = (220, 20, 30)
PLACEHOLDER_BLUE = (20, 60, 230)
LOGO_FRAME_IN = (2.0, 1.0)  # inches
PARTNER = {
    "partner_name": "Acme Widgets GmbH",
    "partner_contact": "Jane Doe",
    "partner_email": "jane@acme.example",
    "partner_phone": "+49 30 1234567",
    "partner_website": "https://acme.example/partners",
    "partner_address": "Hauptstrasse 1\n10115 Berlin",
    "partner_footer": "Acme Widgets GmbH - your certified partner",
    "event_date": "12 March 2027",
}


# --------------------------------------------------------------------------- images


def make_logo(size: tuple[int, int] = (300, 300), color: tuple[int, int, int] = LOGO_RED, fmt: str = "PNG",
              transparent_border: int = 0) -> bytes:
    from PIL import Image

    if transparent_border:
        image = Image.new("RGBA", size, (255, 255, 255, 0))
        inner = Image.new("RGBA", (size[0] - 2 * transparent_border, size[1] - 2 * transparent_border), color + (255,))
        image.paste(inner, (transparent_border, transparent_border))
    else:
        image = Image.new("RGB", size, color)
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def render_page(pdf: Path, page: int = 1, dpi: int = 50):
    """The page as a Pillow RGB image (poppler's pdftoppm)."""
    import tempfile

    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", str(page), "-l", str(page), "-singlefile",
                        str(pdf), f"{tmp}/page"], check=True, capture_output=True, timeout=60)
        with Image.open(f"{tmp}/page.png") as image:
            return image.convert("RGB")


def colour_box(image, colour: tuple[int, int, int], tolerance: int = 40):
    """(count, bbox) of the pixels close to ``colour``."""
    width, height = image.size
    pixels = image.load()
    xs, ys = [], []
    for y in range(height):
        for x in range(width):
            r, g, b = pixels[x, y]
            if abs(r - colour[0]) + abs(g - colour[1]) + abs(b - colour[2]) <= tolerance:
                xs.append(x)
                ys.append(y)
    if not xs:
        return 0, None
    return len(xs), (min(xs), min(ys), max(xs), max(ys))


def pdf_fonts(pdf: Path) -> list[dict]:
    """``pdffonts`` rows: name, type, emb (bool)."""
    out = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True, timeout=60).stdout
    rows = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        if len(parts) < 7:
            continue
        # name type [type...] encoding emb sub uni object ID
        rows.append({"name": parts[0], "emb": parts[-5] == "yes", "line": line})
    return rows


def pdf_text(pdf: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(pdf).pages)


def poppler_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout


# --------------------------------------------------------------------------- DOCX

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _split_runs(paragraph, pieces: Sequence[tuple[str, dict]]) -> None:
    for text, fmt in pieces:
        run = paragraph.add_run(text)
        run.bold = fmt.get("bold")
        run.italic = fmt.get("italic")


def _hyperlink(paragraph, url: str, text_pieces: Sequence[str]) -> None:
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rid = paragraph.part.relate_to(url, RT.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rid)
    for piece in text_pieces:
        r = OxmlElement("w:r")
        t = OxmlElement("w:t")
        t.text = piece
        t.set(qn("xml:space"), "preserve")
        r.append(t)
        link.append(r)
    paragraph._p.append(link)


def _field_hyperlink(paragraph, instr: str, display: str) -> None:
    from lxml import etree

    xml = (f'<w:p xmlns:w="{W}"><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
           f'<w:r><w:instrText xml:space="preserve"> HYPERLINK "{instr[:12]}</w:instrText></w:r>'
           f'<w:r><w:instrText xml:space="preserve">{instr[12:]}" </w:instrText></w:r>'
           f'<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>{display}</w:t></w:r>'
           f'<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>')
    for child in etree.fromstring(xml):
        paragraph._p.append(child)


def _text_box(paragraph, lines: Sequence[str]) -> None:
    """An inline DrawingML text box (wps:wsp / wps:txbx / w:txbxContent) 3 x 0.8 inch."""
    from lxml import etree

    paras = "".join(f'<w:p><w:r><w:t xml:space="preserve">{line}</w:t></w:r></w:p>' for line in lines)
    xml = (
        f'<w:r xmlns:w="{W}" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
        '<w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0">'
        '<wp:extent cx="2743200" cy="731520"/><wp:docPr id="900" name="Text Box 900"/>'
        '<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
        '<wps:wsp><wps:cNvSpPr txBox="1"/><wps:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="2743200" cy="731520"/>'
        '</a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></wps:spPr>'
        f'<wps:txbx><w:txbxContent>{paras}</w:txbxContent></wps:txbx>'
        '<wps:bodyPr rot="0" vert="horz" wrap="square" lIns="91440" tIns="45720" rIns="91440" bIns="45720" '
        'anchor="t"><a:noAutofit/></wps:bodyPr></wps:wsp></a:graphicData></a:graphic></wp:inline></w:drawing></w:r>')
    paragraph._p.append(etree.fromstring(xml))


def make_docx_template(path: Path, *, logo: bool = True, two_sections: bool = True, title: str = "Partner brochure",
                       custom: bool = True) -> Path:
    import docx
    from docx.shared import Inches, Pt

    document = docx.Document()
    document.core_properties.title = title
    section = document.sections[0]
    section.different_first_page_header_footer = True
    document.settings.odd_and_even_pages_header_footer = True
    section.first_page_header.paragraphs[0].text = "First page header {{partner_website}}"
    section.header.paragraphs[0].text = "Odd page header {{partner_name}}"
    section.even_page_header.paragraphs[0].text = "Even page header {{partner_phone}}"
    footer = section.footer.paragraphs[0]
    _split_runs(footer, [("Footer: {{partner", {}), ("_footer}}", {"italic": True})])
    section.first_page_footer.paragraphs[0].text = "{{partner_footer}}"
    section.even_page_footer.paragraphs[0].text = "Even footer {{partner_footer}}"

    if logo:
        # a blue placeholder picture, 2 x 1 inch, alt text {{partner_logo}}
        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (200, 100), PLACEHOLDER_BLUE).save(buf, "PNG")
        buf.seek(0)
        document.add_picture(buf, width=Inches(LOGO_FRAME_IN[0]), height=Inches(LOGO_FRAME_IN[1]))
        doc_pr = document.inline_shapes[-1]._inline.docPr
        doc_pr.set("descr", "{{partner_logo}}")

    heading = document.add_paragraph()
    _split_runs(heading, [("Welcome, ", {}), ("{{", {"bold": True}), ("partner", {"bold": True}),
                          ("_na", {"italic": True}), ("me}}", {}), ("!", {})])
    heading.runs[0].font.size = Pt(16)
    intro = document.add_paragraph("Contact ")
    _split_runs(intro, [("{{ partner_contact }}", {}), (" at ", {}), ("{{partner_", {}), ("email}}", {})])
    if custom:
        event = document.add_paragraph("Launch event on ")
        _split_runs(event, [("{{event", {"bold": True}), ("_date}}", {})])
    document.add_paragraph("Visit us: ")
    link_para = document.add_paragraph("Mail: ")
    _hyperlink(link_para, "mailto:{{partner_email}}", ["Write to ", "{{partner_", "name}}"])
    web_para = document.add_paragraph("Web: ")
    _hyperlink(web_para, "%7B%7Bpartner_website%7D%7D", ["our website"])
    field_para = document.add_paragraph("Field: ")
    _field_hyperlink(field_para, "{{partner_website}}", "site")

    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Phone"
    table.cell(0, 1).text = "{{partner_phone}}"
    inner = table.cell(1, 1).add_table(rows=1, cols=2)
    inner.cell(0, 0).text = "Address"
    inner.cell(0, 1).text = "{{partner_address}}"
    table.cell(1, 0).text = "Nested"

    box_para = document.add_paragraph("Box: ")
    _text_box(box_para, ["{{partner_name}} in a text box", "Reach {{partner_contact}}"])
    document.add_paragraph("Malformed {{partner name}} stays.")

    if two_sections:
        from docx.enum.section import WD_SECTION

        second = document.add_section(WD_SECTION.NEW_PAGE)
        second.header.is_linked_to_previous = False
        second.header.paragraphs[0].text = "Section two header {{partner_contact}}"
        document.add_paragraph("Second section body for {{partner_name}}.")
        for i in range(3):
            document.add_paragraph(f"Filler paragraph {i} " * 20)
    document.save(str(path))
    return path


def make_plain_docx_template(path: Path, paragraphs: Sequence[str], *, logo: bool = False) -> Path:
    """A simple template: one paragraph per text (placeholders inside), optional logo frame first."""
    import docx
    from docx.shared import Inches

    document = docx.Document()
    if logo:
        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (200, 100), PLACEHOLDER_BLUE).save(buf, "PNG")
        buf.seek(0)
        document.add_picture(buf, width=Inches(LOGO_FRAME_IN[0]), height=Inches(LOGO_FRAME_IN[1]))
        document.inline_shapes[-1]._inline.docPr.set("descr", "{{partner_logo}}")
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(str(path))
    return path



def make_docx_with_linked_picture(path: Path, url: str) -> Path:
    """A Word file whose picture is not in the package: ``r:link`` to an external relationship."""
    import re

    make_plain_docx_template(path, ["A picture linked from the web"], logo=True)
    with zipfile.ZipFile(path) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    body = parts["word/document.xml"].decode()
    rid = re.search(r'r:embed="(rId\d+)"', body).group(1)
    parts["word/document.xml"] = body.replace(f'r:embed="{rid}"', f'r:link="{rid}"').encode()
    rels = parts["word/_rels/document.xml.rels"].decode()
    parts["word/_rels/document.xml.rels"] = re.sub(
        rf'(<Relationship Id="{rid}"[^>]*?)Target="[^"]*"', rf'\1Target="{url}" TargetMode="External"', rels).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def make_long_docx(path: Path, paragraphs: int = 6000) -> Path:
    """Hundreds of pages of text and small tables (document.xml written directly, fast to build):
    LibreOffice needs seconds for it."""
    import docx

    source = io.BytesIO()
    docx.Document().save(source)
    text = "lorem ipsum dolor sit amet consectetur " * 12
    body = ['<w:p><w:r><w:t>Long document for {{partner_name}}</w:t></w:r></w:p>']
    for i in range(paragraphs):
        body.append(f'<w:p><w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">{i}: </w:t></w:r>'
                    f'<w:r><w:t>{text}</w:t></w:r></w:p>')
        if i % 10 == 0:
            cells = "".join(f"<w:tc><w:p><w:r><w:t>{i}.{c}</w:t></w:r></w:p></w:tc>" for c in range(4))
            body.append(f"<w:tbl><w:tblPr><w:tblW w:w='0' w:type='auto'/></w:tblPr>"
                        f"<w:tblGrid>{'<w:gridCol/>' * 4}</w:tblGrid><w:tr>{cells}</w:tr><w:tr>{cells}</w:tr></w:tbl>")
    xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W}"><w:body>'
           + "".join(body) + "</w:body></w:document>")
    source.seek(0)
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = xml.encode() if item.filename == "word/document.xml" else zin.read(item.filename)
            zout.writestr(item.filename, data)
    return path


# --------------------------------------------------------------------------- PDF


def make_pdf_template(path: Path, *, pages: int = 1, fields: Sequence[tuple[str, int, Sequence[float]]] | None = None,
                      logo_field: tuple[int, Sequence[float]] | None = (0, (400, 680, 560, 760)),
                      hostile: bool = False, rotate: int = 0, multiline: Sequence[str] = ("partner_address",),
                      title: str = "Price list") -> Path:
    """An AcroForm PDF (US Letter). ``fields``: (name, page index, rect); the default is the
    standard partner fields plus a custom ``event_date`` on page 1."""
    from pypdf import PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    if fields is None:
        y = 640
        fields = []
        for name in ("partner_name", "partner_contact", "partner_email", "partner_phone", "partner_website",
                     "partner_address", "event_date"):
            height = 40 if name in multiline else 20
            fields.append((name, 0, (72, y - height, 360, y)))
            y -= height + 12
    writer = PdfWriter()
    helv = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"), NameObject("/Encoding"): NameObject("/WinAnsiEncoding")}))
    page_objs = []
    for i in range(pages):
        page = writer.add_blank_page(612, 792)
        if rotate:
            page[NameObject("/Rotate")] = NumberObject(rotate)
        content = DecodedStreamObject()
        content.set_data(f"BT /F1 20 Tf 72 740 Td (Template page {i + 1}) Tj ET\n"
                         f"0.9 g 72 100 468 300 re f\n".encode())
        page[NameObject("/Contents")] = writer._add_object(content)
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): helv})})
        page_objs.append(page)
    all_fields = ArrayObject()

    def add_widget(page_index: int, widget: DictionaryObject) -> None:
        page = page_objs[page_index]
        widget[NameObject("/P")] = page.indirect_reference
        ref = writer._add_object(widget)
        if "/Annots" not in page:
            page[NameObject("/Annots")] = ArrayObject()
        page["/Annots"].append(ref)
        all_fields.append(ref)

    for name, page_index, rect in fields:
        widget = DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/FT"): NameObject("/Tx"), NameObject("/T"): TextStringObject(name),
            NameObject("/Rect"): ArrayObject(FloatObject(v) for v in rect),
            NameObject("/DA"): TextStringObject("/Helv 10 Tf 0 g"), NameObject("/F"): NumberObject(4),
        })
        if name in multiline:
            widget[NameObject("/Ff")] = NumberObject(1 << 12)
        if hostile:
            widget[NameObject("/AA")] = DictionaryObject({NameObject("/K"): DictionaryObject({
                NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("AFNumber_Keystroke()")})})
        add_widget(page_index, widget)
    if logo_field is not None:
        page_index, rect = logo_field
        add_widget(page_index, DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/FT"): NameObject("/Btn"), NameObject("/Ff"): NumberObject(1 << 16),
            NameObject("/T"): TextStringObject("partner_logo"),
            NameObject("/Rect"): ArrayObject(FloatObject(v) for v in rect), NameObject("/F"): NumberObject(4),
        }))
    writer._root_object[NameObject("/AcroForm")] = writer._add_object(DictionaryObject({
        NameObject("/Fields"): all_fields,
        NameObject("/DR"): DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/Helv"): helv})}),
        NameObject("/DA"): TextStringObject("/Helv 0 Tf 0 g"),
    }))
    if hostile:
        js = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                               NameObject("/JS"): TextStringObject("app.alert('pwned');")})
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(js)
        writer._root_object[NameObject("/Names")] = DictionaryObject({
            NameObject("/JavaScript"): DictionaryObject({NameObject("/Names"): ArrayObject([
                TextStringObject("init"), writer._add_object(DictionaryObject({
                    NameObject("/S"): NameObject("/JavaScript"),
                    NameObject("/JS"): TextStringObject("this.print();")}))])})})
        page_objs[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): DictionaryObject({
            NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.beep(0);")})})
        launch = writer._add_object(DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject(FloatObject(v) for v in (72, 60, 200, 80)),
            NameObject("/A"): DictionaryObject({NameObject("/S"): NameObject("/Launch"),
                                                NameObject("/F"): TextStringObject("cmd.exe")})}))
        good = writer._add_object(DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject(FloatObject(v) for v in (220, 60, 300, 80)),
            NameObject("/A"): DictionaryObject({NameObject("/S"): NameObject("/URI"),
                                                NameObject("/URI"): TextStringObject("https://vendor.example/")})}))
        page_objs[0]["/Annots"].extend([launch, good])
    writer.add_metadata({"/Title": title})
    with open(path, "wb") as f:
        writer.write(f)
    return path


# --------------------------------------------------------------------------- the shared pool


@pytest.fixture(scope="session")
def cobrand_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One LibreOffice listener pool (2 listeners) for the whole test session."""
    from kbportal.services.cobrand.converter import ConverterPool

    pool = ConverterPool(2, base_dir=tmp_path_factory.mktemp("lo-pool"), job_timeout=90)
    pool.start()
    try:
        yield pool
    finally:
        pool.close()
