"""Generating a co-branded PDF from a template and a partner's data.

:func:`generate` is the one entry point: DOCX templates are filled (``docx_fill``) and
converted by LibreOffice (``converter``), PDF templates are filled, flattened and
stamped by pypdf (``pdf_fill``); both outputs are then sanitised (no JavaScript,
actions, embedded files), get title/author metadata, compressed streams, and are
written atomically to ``out_path``.

:func:`cache_key` names a generated PDF by what determines it (engine version,
template bytes, cleaned values, logo bytes), so a repeated request can be served from
storage.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kbportal.services.cobrand.fields import DEFAULT_LIMITS, KINDS, STANDARD_FIELDS, Limits
from kbportal.services.cobrand.sanitize import clean_text
from kbportal.services.errors import KbError, ValidationFailed

# Bump when a change to the engine changes its output: cached PDFs are then regenerated.
ENGINE_VERSION = "1"
FIELD_NAME = re.compile(r"[a-z][a-z0-9_.]{0,63}")
MULTILINE_FIELDS = {"partner_address"}
MAX_LENGTHS = {
    "partner_name": 120, "partner_contact": 120, "partner_email": 254, "partner_phone": 40,
    "partner_website": 300, "partner_address": 400, "partner_footer": 200,
}
MAX_CUSTOM_LENGTH = 2000


@dataclass(frozen=True)
class GeneratedInfo:
    pages: int
    size: int  # bytes
    fields: tuple[str, ...] = ()  # the template's text fields that were found while filling
    empty_fields: tuple[str, ...] = ()  # of those, the ones left empty (no value given)
    seconds: float = 0.0


def clean_values(values: Mapping[str, object]) -> dict[str, str]:
    """Field name (lower case) -> clean text. Unknown-looking names are dropped; a value
    longer than its field allows raises ValidationFailed (field = the field's name)."""
    out: dict[str, str] = {}
    for key, raw in (values or {}).items():
        name = str(key).strip().lower()
        if name.startswith("{{") and name.endswith("}}"):
            name = name[2:-2].strip()
        if not FIELD_NAME.fullmatch(name) or name == "partner_logo":
            continue
        limit = MAX_LENGTHS.get(name, MAX_CUSTOM_LENGTH)
        multiline = name in MULTILINE_FIELDS or name not in STANDARD_FIELDS
        text = clean_text(raw, multiline=multiline, max_length=10 * limit + 100)
        if len(text) > limit:
            raise ValidationFailed("cobrand.value_too_long", field=name, name=name, max=limit)
        out[name] = text
    return out


def cache_key(template_sha256: str, values: Mapping[str, object], logo_sha256: str | None,
              extra: Mapping[str, str] | None = None) -> str:
    """A stable hex key for the PDF that :func:`generate` makes from these inputs (``extra``:
    anything else the caller puts into the output, e.g. the title)."""
    cleaned = {k: v for k, v in sorted(clean_values(values).items()) if v}
    payload = {"engine": ENGINE_VERSION, "template": template_sha256.lower(), "values": cleaned,
               "logo": (logo_sha256 or "").lower(), "extra": dict(sorted((extra or {}).items()))}
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def default_title(template_title: str, partner_name: str) -> str:
    template_title, partner_name = template_title.strip(), partner_name.strip()
    if template_title and partner_name:
        return f"{template_title} \u2013 {partner_name}"
    return template_title or partner_name


def generate(template_path: Path, kind: str, values: Mapping[str, object], logo: bytes | None, out_path: Path, *,
             title: str, author: str, converter=None, subject: str = "", timeout: float | None = None,
             limits: Limits = DEFAULT_LIMITS, work_dir: Path | None = None) -> GeneratedInfo:
    """Make the co-branded PDF at ``out_path``.

    ``kind`` is "docx" or "pdf"; ``values`` maps field names (standard and custom) to text,
    missing fields are left empty; ``logo`` is the partner's PNG/JPEG (normalised by
    ``branding.validate_logo``) or None; ``converter`` converts DOCX to PDF (default: the
    process-wide :class:`~kbportal.services.cobrand.converter.ConverterPool`).

    Raises ValidationFailed for things the user can fix (a value too long, a script the
    PDF template cannot show, a broken template or logo) and KbError
    (``cobrand.convert_failed`` / ``cobrand.convert_timeout`` / ``cobrand.converter_unavailable``)
    when the conversion fails.
    """
    from kbportal.services.cobrand import images

    started = time.perf_counter()
    if kind not in KINDS:
        raise ValidationFailed("cobrand.template_kind", field="file", kind=kind)
    cleaned = clean_values(values)
    logo_image = images.load_logo(logo, max_bytes=limits.max_logo_bytes, max_pixels=limits.max_logo_pixels) \
        if logo else None
    title = clean_text(title, max_length=500)
    author = clean_text(author, max_length=300)
    subject = clean_text(subject, max_length=500)
    out_path = Path(out_path)
    tmp_out = out_path.with_name(out_path.name + ".part")
    try:
        if kind == "docx":
            pages, size, report = _generate_docx(Path(template_path), cleaned, logo_image, tmp_out, title=title,
                                                 author=author, subject=subject, converter=converter,
                                                 timeout=timeout, limits=limits, work_dir=work_dir)
        else:
            pages, size, report = _generate_pdf(Path(template_path), cleaned, logo_image, tmp_out, title=title,
                                                author=author, subject=subject, limits=limits)
        os.replace(tmp_out, out_path)
    finally:
        tmp_out.unlink(missing_ok=True)
    return GeneratedInfo(pages=pages, size=size, fields=report.fields, empty_fields=report.empty,
                         seconds=time.perf_counter() - started)


def _finish(reader_or_writer, out: Path, *, title: str, author: str, subject: str) -> tuple[int, int]:
    from kbportal.services.cobrand import sanitize

    sanitize.sanitize_pdf(reader_or_writer)
    return sanitize.finish_pdf(reader_or_writer, out, title=title, author=author, subject=subject)


def _generate_pdf(template: Path, values: dict[str, str], logo, out: Path, *, title: str, author: str,
                  subject: str, limits: Limits):
    from kbportal.services.cobrand import pdf_fill

    writer, report = pdf_fill.fill_pdf(template, values, logo, limits=limits)
    pages, size = _finish(writer, out, title=title, author=author, subject=subject)
    return pages, size, report


def _generate_docx(template: Path, values: dict[str, str], logo, out: Path, *, title: str, author: str,
                   subject: str, converter, timeout: float | None, limits: Limits, work_dir: Path | None):
    from kbportal.services.cobrand import docx_fill

    if converter is None:
        from kbportal.services.cobrand.converter import default_pool

        converter = default_pool()
    work = Path(tempfile.mkdtemp(prefix="kbportal-cobrand-", dir=work_dir))
    try:
        filled = work / "filled.docx"
        report = docx_fill.fill_docx(template, values, logo, filled, partner_name=values.get("partner_name", ""),
                                     limits=limits)
        from kbportal.services.office_links import unlinked_copy

        unlinked = work / "unlinked.docx"  # no linked picture is loaded from the server's disk
        if unlinked_copy(filled, unlinked):
            filled = unlinked
        raw_pdf = work / "filled.pdf"
        converter.convert(filled, raw_pdf, timeout=timeout)
        from pypdf import PdfReader, PdfWriter

        try:
            writer = PdfWriter(clone_from=PdfReader(raw_pdf))
        except Exception as exc:  # LibreOffice wrote something pypdf cannot read
            raise KbError("cobrand.convert_failed") from exc
        pages, size = _finish(writer, out, title=title, author=author, subject=subject)
        return pages, size, report
    finally:
        shutil.rmtree(work, ignore_errors=True)
