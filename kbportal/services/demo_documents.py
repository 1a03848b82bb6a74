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


def _docx_template(path: Path) -> Path:
    """A co-brand template: a logo frame (a picture whose alt text is ``{{partner_logo}}``),
    the standard partner fields and one custom field (``event_date``)."""
    import io

    from docx import Document as Docx
    from docx.shared import Inches
    from PIL import Image

    doc = Docx()
    frame = io.BytesIO()
    Image.new("RGB", (400, 160), (210, 216, 230)).save(frame, "PNG")
    frame.seek(0)
    doc.add_picture(frame, width=Inches(2.0), height=Inches(0.8))
    doc.inline_shapes[-1]._inline.docPr.set("descr", "{{partner_logo}}")
    doc.add_heading("X200 Edge Router: now available from {{partner_name}}", level=1)
    doc.add_paragraph("Secure, fast routing for every branch office, installed and supported by "
                      "{{partner_name}}. Join our launch event on {{event_date}}.")
    doc.add_paragraph("Contact {{partner_contact}}: {{partner_email}}, {{partner_phone}}")
    doc.add_paragraph("{{partner_website}}")
    doc.add_paragraph("{{partner_address}}")
    doc.add_paragraph("{{partner_footer}}")
    doc.save(path)
    return path


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
    return created
