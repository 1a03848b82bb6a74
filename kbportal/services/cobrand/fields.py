"""Which fields a co-branding template has.

DOCX templates carry ``{{field}}`` placeholders in their text (body, tables, headers,
footers, footnotes, text boxes, field codes, hyperlink targets); a picture whose alt
text is ``{{partner_logo}}`` is the logo frame. PDF templates carry AcroForm text
fields named like the placeholders (``partner_name`` or ``{{partner_name}}``); a field
named ``partner_logo`` (a button or text field) is the logo frame.

:func:`detect_fields` opens the (untrusted) template in a limited child process
(:mod:`kbportal.services.cobrand.worker`). The ``detect_*`` functions below are what
the child runs; they are also used in-process on templates that already passed
:func:`detect_fields` (the fill needs the same view of the document).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from kbportal.services.errors import ValidationFailed

MB = 1024 * 1024

STANDARD_FIELDS: tuple[str, ...] = (
    "partner_name", "partner_contact", "partner_email", "partner_phone", "partner_website",
    "partner_address", "partner_footer", "partner_logo",
)
TEXT_STANDARD_FIELDS = tuple(f for f in STANDARD_FIELDS if f != "partner_logo")
LOGO_FIELD = "partner_logo"
KINDS = ("docx", "pdf")
_PDF_NAME = re.compile(r"[a-z][a-z0-9_.]{0,63}")


@dataclass(frozen=True)
class Limits:
    """What a template or logo may cost the child that opens it."""

    cpu_seconds: int = 30
    wall_seconds: float = 60.0
    memory_bytes: int = 1024 * MB
    max_output_bytes: int = 64 * MB
    max_inflated_bytes: int = 100 * MB  # all members of a DOCX together, inflated
    max_zip_entries: int = 5000
    max_pdf_pages: int = 500
    max_template_bytes: int = 100 * MB
    max_logo_bytes: int = 5 * MB
    max_logo_pixels: int = 25_000_000
    logo_max_side: int = 2000  # a normalised logo is at most this many pixels on its longest side

    def with_(self, **changes) -> "Limits":
        return replace(self, **changes)


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class TemplateFields:
    kind: str
    fields: tuple[str, ...]  # every text field (standard and custom), document order, no duplicates
    has_logo_frame: bool
    title: str = ""  # the template's own title (DOCX core properties / PDF info), may be empty
    malformed: tuple[str, ...] = field(default=())  # "{{...}}" snippets that are no valid placeholder

    @property
    def standard(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if f in STANDARD_FIELDS)

    @property
    def custom(self) -> tuple[str, ...]:
        """The fields the partner fills in by hand."""
        return tuple(f for f in self.fields if f not in STANDARD_FIELDS)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TemplateFields":
        return cls(kind=data["kind"], fields=tuple(data["fields"]), has_logo_frame=bool(data["has_logo_frame"]),
                   title=data.get("title") or "", malformed=tuple(data.get("malformed") or ()))


def megabytes(n: int) -> float | int:
    """A byte count as MB for messages: 5 for 5 MB, 0.1 for 100 KB."""
    value = round(n / MB, 1)
    return int(value) if value == int(value) else value


def normalize_pdf_field_name(name: str) -> str | None:
    """``"{{ Partner_Name }}"`` -> ``"partner_name"``; None for names that are no placeholder."""
    n = (name or "").strip()
    if n.startswith("{{") and n.endswith("}}"):
        n = n[2:-2].strip()
    n = re.sub(r"[\s\-]+", "_", n.lower())
    return n if _PDF_NAME.fullmatch(n) else None


def _unique(names: list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for n in names:
        seen.setdefault(n, None)
    return tuple(seen)


# ---------------------------------------------------------------------- DOCX


def detect_docx(path: Path, limits: Limits = DEFAULT_LIMITS) -> TemplateFields:
    """Raises ValidationFailed (field "file")."""
    from kbportal.services.cobrand import ooxml

    package = ooxml.DocxPackage.open(path, max_inflated=limits.max_inflated_bytes,
                                     max_entries=limits.max_zip_entries)
    names: list[str] = []
    malformed: list[str] = []
    has_logo = False
    for part in package.story_parts():
        root = package.xml(part)
        for p in ooxml.iter_paragraphs(root):
            text = "".join(n.text or "" for n in ooxml.paragraph_nodes(p))
            if "{" in text:
                names += ooxml.placeholders_in(text)
                malformed += ooxml.MALFORMED.findall(text)
            instr = "".join(n.text or "" for n in ooxml.paragraph_nodes(p, ooxml.W_INSTR))
            if "{" in instr or "%7" in instr:
                names += [m.group(1).lower() for m in ooxml.URL_PLACEHOLDER.finditer(instr)]
        for simple in root.iter(ooxml.W_FLDSIMPLE):
            names += [m.group(1).lower() for m in ooxml.URL_PLACEHOLDER.finditer(simple.get(ooxml.W_INSTR_ATTR, ""))]
        for rel in package.relationships(part):
            if rel.external:
                names += [m.group(1).lower() for m in ooxml.URL_PLACEHOLDER.finditer(rel.target)]
        has_logo = has_logo or bool(ooxml.logo_frames(root))
    title = ""
    if "docProps/core.xml" in package.members:
        try:
            core = ooxml.parse_xml(package.members["docProps/core.xml"])
            el = core.find("{http://purl.org/dc/elements/1.1/}title")
            title = (el.text or "").strip() if el is not None else ""
        except ValidationFailed:
            title = ""
    fields = tuple(n for n in _unique(names) if n != LOGO_FIELD)
    return TemplateFields("docx", fields, has_logo, title[:300], _unique(malformed)[:20])


# ---------------------------------------------------------------------- PDF


def pdf_widgets(reader_or_writer) -> list[tuple[int, object, object, str]]:
    """``(page_index, widget, field_dict, qualified_name)`` for every widget annotation in
    page order; ``field_dict`` is the terminal field that carries /T (the widget itself or
    its parent)."""
    out = []
    for index, page in enumerate(reader_or_writer.pages):
        annots = page.get("/Annots")
        if annots is None:
            continue
        annots = annots.get_object()
        if not isinstance(annots, list):
            continue
        for ref in annots:
            try:
                widget = ref.get_object()
            except Exception:
                continue
            if not hasattr(widget, "get") or widget.get("/Subtype") != "/Widget":
                continue
            field_dict = widget if "/T" in widget else widget.get("/Parent")
            field_dict = field_dict.get_object() if field_dict is not None else None
            if field_dict is None:
                continue
            parts = []
            node, depth = field_dict, 0
            while node is not None and depth < 32:
                if "/T" in node:
                    parts.append(str(node["/T"]))
                parent = node.get("/Parent")
                node = parent.get_object() if parent is not None else None
                depth += 1
            out.append((index, widget, field_dict, ".".join(reversed(parts))))
    return out


def field_type(field_dict) -> str:
    node, depth = field_dict, 0
    while node is not None and depth < 32:
        if "/FT" in node:
            return str(node["/FT"])
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
        depth += 1
    return ""


def open_pdf(path: Path, limits: Limits = DEFAULT_LIMITS):
    """A PdfReader for the template; raises ValidationFailed."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception:
                opened = 0
            if not opened:
                raise ValidationFailed("cobrand.template_encrypted", field="file")
        pages = len(reader.pages)
    except ValidationFailed:
        raise
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:
        raise ValidationFailed("cobrand.template_unreadable", field="file") from exc
    if pages < 1:
        raise ValidationFailed("cobrand.template_unreadable", field="file")
    if pages > limits.max_pdf_pages:
        raise ValidationFailed("cobrand.template_too_many_pages", field="file", pages=pages,
                               max_pages=limits.max_pdf_pages)
    return reader


def detect_pdf(path: Path, limits: Limits = DEFAULT_LIMITS) -> TemplateFields:
    reader = open_pdf(path, limits)
    names: list[str] = []
    malformed: list[str] = []
    has_logo = False
    try:
        for _, _, field_dict, qualified in pdf_widgets(reader):
            name = normalize_pdf_field_name(qualified)
            ftype = field_type(field_dict)
            if name is None:
                if ftype == "/Tx" and "{{" in qualified:
                    malformed.append(qualified[:80])
                continue
            if name == LOGO_FIELD and ftype in ("/Btn", "/Tx", ""):
                has_logo = True
            elif ftype == "/Tx":
                names.append(name)
        title = ""
        try:
            title = str((reader.metadata or {}).get("/Title") or "").strip()
        except Exception:
            title = ""
    except (MemoryError, RecursionError, ValidationFailed):
        raise
    except Exception as exc:
        raise ValidationFailed("cobrand.template_unreadable", field="file") from exc
    return TemplateFields("pdf", _unique(names), has_logo, title[:300], _unique(malformed)[:20])


# ---------------------------------------------------------------------- entry point


def detect_in_process(path: Path, kind: str, limits: Limits = DEFAULT_LIMITS) -> TemplateFields:
    """What the child runs: raises ValidationFailed (field "file")."""
    if kind not in KINDS:
        raise ValidationFailed("cobrand.template_kind", field="file", kind=kind)
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise ValidationFailed("cobrand.template_unreadable", field="file")
    if size > limits.max_template_bytes:
        raise ValidationFailed("cobrand.template_too_large", field="file", max_mb=megabytes(limits.max_template_bytes))
    if kind == "docx":
        found = detect_docx(path, limits)
    else:
        found = detect_pdf(path, limits)
    if not found.fields and not found.has_logo_frame:
        raise ValidationFailed("cobrand.template_no_fields", field="file")
    return found


def detect_fields(path: Path, kind: str, *, limits: Limits | None = None, work: Path | None = None) -> TemplateFields:
    """The fields of the template at ``path`` (``kind`` "docx" or "pdf"), read in a limited
    child process. Raises ValidationFailed (field "file") with a ``cobrand.*`` code when the
    template cannot be used: unreadable, too large, encrypted, or without any field."""
    from kbportal.services.cobrand import worker

    if kind not in KINDS:
        raise ValidationFailed("cobrand.template_kind", field="file", kind=kind)
    result = worker.run("detect", Path(path), {"kind": kind}, limits or DEFAULT_LIMITS, work=work)
    if result.get("killed"):  # out of time (wall clock or CPU)
        raise ValidationFailed("cobrand.template_timeout", field="file")
    if result.get("out_of_memory"):
        raise ValidationFailed("cobrand.template_too_complex", field="file")
    if not result.get("ok"):
        if not result.get("code"):
            raise ValidationFailed("cobrand.template_unreadable", field="file")
        raise ValidationFailed(result["code"], field="file", **(result.get("params") or {}))
    return TemplateFields.from_dict(result["fields"])
