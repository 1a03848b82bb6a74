"""Demo collateral for ``kbportal seed --demo``: real PDF, DOCX and Markdown files,
uploaded through the repository as marketing, with audiences that make the access
rules visible (every region and tier sees a different library)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, select

from kbportal.models import Document
from kbportal.services import access, repository, users
from kbportal.services.access import AudienceRule
from kbportal.services.audit import Actor
from kbportal.services.simple_pdf import text_pdf

MARKETING_EMAIL = "marketing@example.com"


@dataclass(frozen=True)
class DemoDocument:
    title: str
    doc_type: str
    product: str
    filename: str
    pages: tuple[tuple[str, str], ...]
    audience: AudienceRule | None
    tags: tuple[str, ...] = ()
    description: str = ""
    language: str = "en"
    publish: bool = True
    label: str = ""
    # (filename, pages, note, publish) of later versions
    later: tuple[tuple[str, tuple[tuple[str, str], ...], str, bool], ...] = field(default=())


def _docx(path: Path, heading: str, rows: list[tuple[str, str]], intro: str) -> Path:
    from docx import Document as Docx

    doc = Docx()
    doc.add_heading(heading, level=1)
    doc.add_paragraph(intro)
    table = doc.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Model", "Partner price (EUR)"
    for model, price in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = model, price
    doc.save(path)
    return path


def _shade(cell, fill: str) -> None:
    """A table cell's background colour (python-docx has no API for it)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def _docx_template(path: Path) -> Path:
    """A co-brand template: a one-page launch flyer with a logo frame (a picture whose alt
    text is ``{{partner_logo}}``), the standard partner fields in a contact panel, the
    footer line in the page footer and one custom field (``event_date``)."""
    import io

    from docx import Document as Docx
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Inches, Pt, RGBColor
    from PIL import Image

    blue, ink, muted = RGBColor(0x1C, 0x4D, 0xD9), RGBColor(0x12, 0x17, 0x26), RGBColor(0x61, 0x6B, 0x7D)
    doc = Docx()
    doc.core_properties.title = TEMPLATE_TITLE
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin, section.bottom_margin = Cm(1.6), Cm(1.8)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size, normal.font.color.rgb = "Liberation Sans", Pt(11), ink

    def para(text: str = "", *, size: float = 11, bold: bool = False, colour=ink, after: float = 6,
             before: float = 0, align=None):
        paragraph = doc.add_paragraph()
        paragraph.paragraph_format.space_after, paragraph.paragraph_format.space_before = Pt(after), Pt(before)
        if align is not None:
            paragraph.alignment = align
        if text:
            run = paragraph.add_run(text)
            run.font.size, run.bold, run.font.color.rgb = Pt(size), bold, colour
        return paragraph

    frame = io.BytesIO()
    Image.new("RGB", (360, 200), (210, 216, 230)).save(frame, "PNG")
    frame.seek(0)
    logo = para(after=18)
    logo.add_run().add_picture(frame, width=Inches(1.8), height=Inches(1.0))
    doc.inline_shapes[-1]._inline.docPr.set("descr", "{{partner_logo}}")

    para("NEW  \u00b7  X200 EDGE ROUTER", size=9, bold=True, colour=blue, after=4)
    para("X200 Edge Router: now available from {{partner_name}}", size=24, bold=True, after=10)
    para("Secure, fast routing for every branch office, installed and supported by {{partner_name}}.",
         size=13, colour=muted, after=16)
    para("The X200 brings 40 Gbps of secure routing to shops, clinics and schools. It configures itself the "
         "moment it is plugged in, includes firewall, IPS and VPN without extra licences, and fails over to 5G "
         "when the line goes down. Your local team installs it, monitors it and answers the phone.", after=12)
    for point in ("Online in minutes with zero-touch provisioning", "Enterprise security included, no extra licences",
                  "Five-year warranty with next-business-day replacement"):
        bullet = para(after=3)
        mark = bullet.add_run("\u25a0  ")
        mark.font.color.rgb, mark.font.size = blue, Pt(8)
        bullet.add_run(point)
    para(after=4)

    event = doc.add_table(rows=1, cols=1)
    event.alignment = WD_TABLE_ALIGNMENT.CENTER
    cell = event.cell(0, 0)
    _shade(cell, "FFF4D6")
    first = cell.paragraphs[0]
    first.paragraph_format.space_before, first.paragraph_format.space_after = Pt(6), Pt(2)
    label = first.add_run("LAUNCH EVENT")
    label.bold, label.font.size, label.font.color.rgb = True, Pt(8), RGBColor(0x9E, 0x61, 0x05)
    when = cell.add_paragraph()
    when.paragraph_format.space_after = Pt(2)
    run = when.add_run("{{event_date}}")
    run.bold, run.font.size = True, Pt(14)
    what = cell.add_paragraph("See the X200 live: demos, partner pricing and a drink with our team.")
    what.paragraph_format.space_after = Pt(6)
    para(after=10)

    contact = doc.add_table(rows=1, cols=2)
    contact.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = contact.cell(0, 0), contact.cell(0, 1)
    left.width, right.width = Cm(9.5), Cm(7.5)
    for cell in (left, right):
        _shade(cell, "F1F4F9")
    heading = left.paragraphs[0]
    heading.paragraph_format.space_before = Pt(8)
    run = heading.add_run("YOUR X200 PARTNER")
    run.bold, run.font.size, run.font.color.rgb = True, Pt(8), blue
    name = left.add_paragraph()
    run = name.add_run("{{partner_name}}")
    run.bold, run.font.size = True, Pt(14)
    for text in ("{{partner_contact}}", "{{partner_email}}", "{{partner_phone}}", "{{partner_website}}"):
        line = left.add_paragraph(text)
        line.paragraph_format.space_after = Pt(1)
    left.add_paragraph().paragraph_format.space_after = Pt(4)
    label = right.paragraphs[0]
    label.paragraph_format.space_before = Pt(8)
    run = label.add_run("ADDRESS")
    run.bold, run.font.size, run.font.color.rgb = True, Pt(8), muted
    right.add_paragraph("{{partner_address}}")

    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = footer.add_run("{{partner_footer}}")
    run.font.size, run.font.color.rgb = Pt(9), muted
    doc.save(path)
    return path


# The PDF (AcroForm) template: A4, in points from the bottom left.
_ACCENT = (0.11, 0.30, 0.85)  # the vendor's blue
_INK = (0.07, 0.09, 0.15)
_MUTED = (0.38, 0.42, 0.49)
PDF_TEMPLATE_FIELDS = ("partner_name", "partner_contact", "partner_email", "partner_phone", "partner_website",
                       "partner_address", "special_offer", "partner_footer")


def _pdf_literal(text: str) -> str:
    safe = text.encode("cp1252", "replace").decode("cp1252")
    return "(" + safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


class _Canvas:
    """Content stream operators for the datasheet's static layout (Helvetica, WinAnsi)."""

    def __init__(self) -> None:
        self.ops: list[str] = []

    def rect(self, x: float, y: float, w: float, h: float, fill: tuple[float, float, float]) -> None:
        self.ops.append(f"{fill[0]:.3f} {fill[1]:.3f} {fill[2]:.3f} rg {x:.1f} {y:.1f} {w:.1f} {h:.1f} re f")

    def text(self, x: float, y: float, text: str, size: float = 10, bold: bool = False,
             colour: tuple[float, float, float] = _INK) -> None:
        font = "/F2" if bold else "/F1"
        self.ops.append(f"BT {colour[0]:.3f} {colour[1]:.3f} {colour[2]:.3f} rg {font} {size} Tf "
                        f"{x:.1f} {y:.1f} Td {_pdf_literal(text)} Tj ET")

    def data(self) -> bytes:
        return "\n".join(self.ops).encode("cp1252", "replace")


def _datasheet_layout() -> tuple[_Canvas, dict[str, tuple[float, float, float, float]]]:
    """The page's drawing and the rectangles of its form fields."""
    import textwrap

    c = _Canvas()
    left, right = 50.0, 545.0
    c.text(left, 806, "VENDOR NETWORKS  \u00b7  PARTNER DATASHEET", 8, bold=True, colour=_ACCENT)
    c.text(left, 772, "X200 Edge Router", 28, bold=True)
    c.text(left, 750, "Secure, fast routing for every branch office \u2013 installed and supported by your "
           "partner.", 11,
           colour=_MUTED)
    c.rect(left, 734, right - left, 2.5, _ACCENT)

    y = 708.0
    c.text(left, y, "Overview", 13, bold=True)
    y -= 18
    overview = ("The X200 brings 40 Gbps of secure routing to branch offices. Eight 10G ports, PoE+ on every "
                "port and zero-touch provisioning mean a new site is online in minutes, without an engineer on "
                "site. Retail chains, clinics and schools get enterprise-grade security, central management from "
                "the cloud and a five-year warranty.")
    for line in textwrap.wrap(overview, 100):
        c.text(left, y, line, 10)
        y -= 15
    y -= 12
    c.text(left, y, "Key features", 13, bold=True)
    y -= 18
    for feature in ("Zero-touch provisioning: ship the box, plug it in, it configures itself",
                    "Next-generation firewall, IPS and VPN included, no extra licences",
                    "SD-WAN with automatic failover between fibre, DSL and 5G",
                    "Managed from the cloud portal: one dashboard for every branch",
                    "Five-year warranty with next-business-day replacement"):
        c.rect(left + 2, y + 2.5, 4, 4, _ACCENT)
        c.text(left + 14, y, feature, 10)
        y -= 15
    y -= 12
    c.text(left, y, "Specifications", 13, bold=True)
    y -= 8
    specs = (("Throughput", "40 Gbps firewall, 12 Gbps IPS, 8 Gbps VPN"),
             ("Ports", "8 x 10G RJ45 (PoE+), 2 x 25G SFP28"),
             ("Power", "65 W typical, redundant supply optional"), ("Operating temperature", "0 \u2013 45 \u00b0C"),
             ("Dimensions", "1U, 440 x 300 x 44 mm, 4.2 kg"), ("Certifications", "CE, FCC, UKCA, RoHS"))
    for index, (name, value) in enumerate(specs):
        y -= 19
        if index % 2 == 0:
            c.rect(left, y - 6, right - left, 19, (0.95, 0.96, 0.98))
        c.text(left + 8, y, name, 9.5, bold=True)
        c.text(left + 170, y, value, 9.5)
    y -= 30
    c.text(left, y, "Ordering information", 13, bold=True)
    for code, what in (("X200-8P", "X200 Edge Router, base unit with one-year cloud management"),
                       ("X200-8P-5Y", "X200 Edge Router with five years of cloud management and updates")):
        y -= 16
        c.text(left + 8, y, code, 9.5, bold=True)
        c.text(left + 170, y, what, 9.5)

    assert y > 316, "the body runs into the offer box"
    fields: dict[str, tuple[float, float, float, float]] = {}
    # the custom field: a highlighted offer line
    c.rect(left, 256, right - left, 44, (1.0, 0.96, 0.85))
    c.rect(left, 256, 3, 44, (0.95, 0.62, 0.07))
    c.text(left + 14, 285, "SPECIAL OFFER", 7.5, bold=True, colour=(0.62, 0.38, 0.02))
    fields["special_offer"] = (left + 14, 261, right - 12, 281)

    # the partner box: logo, name, contact details, address
    c.rect(left, 78, right - left, 166, (0.95, 0.96, 0.98))
    c.rect(left, 78, 3, 166, _ACCENT)
    c.text(left + 16, 226, "YOUR X200 PARTNER", 7.5, bold=True, colour=_ACCENT)
    fields["partner_logo"] = (left + 16, 100, left + 106, 190)
    col = left + 122
    fields["partner_name"] = (col, 196, right - 14, 216)
    rows = (("Contact", "partner_contact"), ("Email", "partner_email"), ("Phone", "partner_phone"),
            ("Web", "partner_website"))
    y = 172.0
    for label, name in rows:
        c.text(col, y + 4, label.upper(), 6.5, bold=True, colour=_MUTED)
        fields[name] = (col + 40, y, col + 210, y + 15)
        y -= 20
    c.text(col + 222, 180, "ADDRESS", 6.5, bold=True, colour=_MUTED)
    fields["partner_address"] = (col + 222, 96, right - 10, 176)
    fields["partner_footer"] = (left, 44, right, 60)
    c.text(left, 26, "Vendor Networks  \u00b7  X200-DS-EN 1.0  \u00b7  Specifications subject to change without "
           "notice.", 7, colour=_MUTED)
    return c, fields


def _pdf_template(path: Path) -> Path:
    """A co-brand datasheet as an AcroForm PDF (built with pypdf's object model): text fields
    for the partner's name, contact, email, phone, website, address and footer, a logo field
    (``partner_logo``) and one custom field (``special_offer``)."""
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

    def font(base: str):
        return writer._add_object(DictionaryObject({
            NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject(base), NameObject("/Encoding"): NameObject("/WinAnsiEncoding")}))

    writer = PdfWriter()
    helv, bold = font("/Helvetica"), font("/Helvetica-Bold")
    page = writer.add_blank_page(595, 842)
    canvas, rects = _datasheet_layout()
    content = DecodedStreamObject()
    content.set_data(canvas.data())
    page[NameObject("/Contents")] = writer._add_object(content)
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({
        NameObject("/F1"): helv, NameObject("/F2"): bold})})
    page[NameObject("/Annots")] = ArrayObject()
    styles = {"partner_name": "/HeBo 13 Tf 0.07 0.09 0.15 rg", "special_offer": "/HeBo 11 Tf 0.45 0.27 0.01 rg",
              "partner_address": "/Helv 8.5 Tf 0.07 0.09 0.15 rg", "partner_footer": "/Helv 8 Tf 0.38 0.42 0.49 rg"}
    all_fields = ArrayObject()
    for name in PDF_TEMPLATE_FIELDS + ("partner_logo",):
        widget = DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/T"): TextStringObject(name), NameObject("/F"): NumberObject(4),
            NameObject("/Rect"): ArrayObject(FloatObject(v) for v in rects[name]),
            NameObject("/P"): page.indirect_reference,
        })
        if name == "partner_logo":  # a push button: the logo's frame
            widget[NameObject("/FT")] = NameObject("/Btn")
            widget[NameObject("/Ff")] = NumberObject(1 << 16)
        else:
            widget[NameObject("/FT")] = NameObject("/Tx")
            widget[NameObject("/DA")] = TextStringObject(styles.get(name, "/Helv 9 Tf 0.07 0.09 0.15 rg"))
            if name == "partner_address":
                widget[NameObject("/Ff")] = NumberObject(1 << 12)  # multiline
            if name == "partner_footer":
                widget[NameObject("/Q")] = NumberObject(1)  # centred
        ref = writer._add_object(widget)
        page["/Annots"].append(ref)
        all_fields.append(ref)
    writer._root_object[NameObject("/AcroForm")] = writer._add_object(DictionaryObject({
        NameObject("/Fields"): all_fields,
        NameObject("/DR"): DictionaryObject({NameObject("/Font"): DictionaryObject({
            NameObject("/Helv"): helv, NameObject("/HeBo"): bold})}),
        NameObject("/DA"): TextStringObject("/Helv 0 Tf 0 g"),
    }))
    writer.add_metadata({"/Title": PDF_TEMPLATE_TITLE, "/Author": "Vendor Networks"})
    with open(path, "wb") as f:
        writer.write(f)
    return path


PDF_TEMPLATE_TITLE = "X200 partner datasheet (co-brand template)"
TEMPLATE_TITLE = "X200 launch flyer (co-brand template)"
ALL = AudienceRule(all_regions=True)
DEMO_DOCUMENTS: tuple[DemoDocument, ...] = (
    DemoDocument(
        "X200 Edge Router datasheet", "datasheet", "X200", "X200-datasheet.pdf",
        (("X200 Edge Router", "The X200 brings 40 Gbps of secure routing to branch offices. Eight 10G ports, "
          "PoE+ on every port, zero-touch provisioning and a five-year warranty.\nIdeal for retail chains, "
          "clinics and schools that need enterprise security without an on-site engineer."),
         ("Specifications", "Throughput: 40 Gbps\nPorts: 8 x 10G, 2 x 25G uplinks\nPower: 65 W typical\n"
          "Operating temperature: 0-45 C\nCertifications: CE, FCC, UKCA")),
        ALL, tags=("routing", "hardware"), description="Two-page datasheet for customer meetings."),
    DemoDocument(
        "Cloud Backup partner brochure", "brochure", "Cloud Backup", "Cloud-Backup-brochure.pdf",
        (("Cloud Backup for growing businesses", "Immutable backups, restore in minutes, and pricing your "
          "customers understand. This brochure explains the offer and the partner margins."),),
        AudienceRule(regions=frozenset({"APAC", "EMEA"}), min_tier="silver"), tags=("cloud", "backup")),
    DemoDocument(
        "Q3 launch presentation", "presentation", "X400", "Q3-launch.pdf",
        (("Q3 launch: X400", "Draft agenda for the partner launch webinar."),),
        AudienceRule(all_regions=True, min_tier="gold"), tags=("launch",), label="Draft",
        later=(("Q3-launch.pdf", (("Q3 launch: X400", "Final deck: positioning, pricing, competitive "
                                   "landscape and the launch promotion for gold and platinum partners."),),
                "Final deck after pricing approval", True),)),
    DemoDocument(
        "Case study: Banco Horizonte", "case_study", "Cloud Backup", "Banco-Horizonte.pdf",
        (("Banco Horizonte protects 240 branches", "How a regional bank in Brazil moved 2 PB of backups to the "
          "cloud in six weeks with Horizonte Tecnologia."),),
        AudienceRule(regions=frozenset({"LATAM"})), tags=("banking", "cloud"), language="en"),
    DemoDocument(
        "Partner onboarding training", "training", "", "onboarding.md",
        (("Partner onboarding", "# Partner onboarding\n\n1. Register your team.\n2. Complete the sales "
          "training.\n3. Book your first joint customer call."),),
        ALL, tags=("training",)),
    DemoDocument(
        "Nusantara joint campaign kit", "brochure", "X200", "Nusantara-campaign.pdf",
        (("Joint campaign: X200 for Indonesian retail", "Co-marketing kit prepared for PT Nusantara Solusi "
          "Digital only."),),
        None, tags=("campaign",)),
    DemoDocument(
        "X400 datasheet (draft)", "datasheet", "X400", "X400-datasheet.pdf",
        (("X400 Core Router", "Preliminary specifications, not for distribution."),),
        ALL, publish=False, tags=("routing",)),
)
PRICE_LIST = ("Price list 2027 (EMEA)", [("X200 Edge Router", "1,190"), ("X400 Core Router", "4,650"),
                                         ("Cloud Backup, 1 TB / year", "240")])


def _write(spec_filename: str, pages, title: str, folder: Path) -> Path:
    path = folder / spec_filename
    if spec_filename.endswith(".md"):
        path.write_text(pages[0][1] + "\n", encoding="utf-8")
    else:
        path.write_bytes(text_pdf(pages, title=title))
    return path


def seed_documents(session: Session, org_ids: dict[str, int]) -> int:
    """Upload the demo documents that are missing (matched by title); returns how many."""
    marketing = users.find_user_by_email(session, MARKETING_EMAIL)
    if marketing is None:
        return 0
    principal = access.principal_for(session, marketing)
    actor = Actor(user_id=marketing.id, email=marketing.email, ip="cli")
    existing = set(session.exec(select(Document.title)))
    created = 0
    with tempfile.TemporaryDirectory(prefix="kbportal-demo-") as tmp:
        folder = Path(tmp)
        for spec in DEMO_DOCUMENTS:
            if spec.title in existing:
                continue
            audience = spec.audience
            if audience is None:  # the campaign kit: one organisation only
                audience = AudienceRule(org_ids=frozenset({org_ids["PT Nusantara Solusi Digital"]}))
            path = _write(spec.filename, spec.pages, spec.title, folder)
            ref = repository.create_document(
                session, principal, actor, repository.Upload(path=path, filename=spec.filename), title=spec.title,
                description=spec.description, doc_type=spec.doc_type, product=spec.product, tags=spec.tags,
                source_language=spec.language, audience=audience, label=spec.label, publish=spec.publish)
            for filename, pages, note, publish in spec.later:
                later = folder / f"later-{filename}"
                later.write_bytes(text_pdf(pages, title=spec.title))
                repository.add_version(session, principal, actor, ref.document_id,
                                       repository.Upload(path=later, filename=filename), note=note, publish=publish)
            created += 1
        title, rows = PRICE_LIST
        if title not in existing:
            path = _docx(folder / "Price-list-2027-EMEA.docx", title, rows,
                         "Partner prices valid from 1 January 2027. Confidential: for EMEA gold and platinum partners.")
            repository.create_document(
                session, principal, actor, repository.Upload(path=path, filename=path.name), title=title,
                doc_type="price_list", product="X200", tags=("pricing",),
                audience=AudienceRule(regions=frozenset({"EMEA"}), min_tier="gold"), publish=True)
            created += 1
        if TEMPLATE_TITLE not in existing:
            path = _docx_template(folder / "X200-launch-flyer.docx")
            repository.create_document(
                session, principal, actor, repository.Upload(path=path, filename=path.name), title=TEMPLATE_TITLE,
                description="Launch flyer with your logo, company name and contact details.", doc_type="template",
                product="X200", tags=("campaign",), audience=ALL, publish=True)
            created += 1
        if PDF_TEMPLATE_TITLE not in existing:
            path = _pdf_template(folder / "X200-partner-datasheet.pdf")
            repository.create_document(
                session, principal, actor, repository.Upload(path=path, filename=path.name),
                title=PDF_TEMPLATE_TITLE, description="One-page X200 datasheet with your logo, contact details, "
                "address, footer line and a special offer of your own.", doc_type="template", product="X200",
                tags=("datasheet", "routing"), audience=ALL, publish=True)
            created += 1
    return created
