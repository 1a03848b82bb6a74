"""What a file really is, from its bytes (the name only picks among text formats).

``sniff(path, filename)`` returns the :class:`Kind` or raises :class:`Rejected`
with a catalogue key that says what is wrong in words the uploader understands.
Rules:

* PDF by its ``%PDF-`` header (within the first 1024 bytes, as readers accept it);
  PNG and JPEG by their magic numbers; DOCX, PPTX and XLSX by being a zip whose
  ``[Content_Types].xml`` declares the matching main part (macro-enabled and other
  Office flavours are refused).
* Text (plain, Markdown, CSV) must be UTF-8 without NUL or control characters, and
  its name must have a text extension (or none): an SVG, HTML or script is refused.
* Content wins over the name: a PDF called ``.txt`` is a PDF. A name that claims
  a binary type whose content is something else is "damaged or not a real ..."
  (e.g. text saved as ``.pdf``).

Pure standard library, so the extraction child imports it cheaply. Zip central
directories are read here but nothing is inflated beyond ``[Content_Types].xml``
(bounded); the child's zip guard checks the rest.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

HEAD_BYTES = 8192
MAX_CONTENT_TYPES_BYTES = 1024 * 1024


class Rejected(Exception):
    """A file that cannot be accepted; ``code`` is a catalogue key, ``params`` fill it."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Kind:
    name: str  # pdf, docx, pptx, xlsx, txt, md, csv, png, jpeg
    mime_type: str
    extensions: tuple[str, ...]  # the first is the one a corrected file name gets

    @property
    def is_text(self) -> bool:
        return self.name in TEXT_KINDS


_OOXML = "application/vnd.openxmlformats-officedocument."
KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("pdf", "application/pdf", (".pdf",)),
    Kind("docx", _OOXML + "wordprocessingml.document", (".docx",)),
    Kind("pptx", _OOXML + "presentationml.presentation", (".pptx",)),
    Kind("xlsx", _OOXML + "spreadsheetml.sheet", (".xlsx",)),
    Kind("txt", "text/plain", (".txt", ".text")),
    Kind("md", "text/markdown", (".md", ".markdown")),
    Kind("csv", "text/csv", (".csv",)),
    Kind("png", "image/png", (".png",)),
    Kind("jpeg", "image/jpeg", (".jpg", ".jpeg")),
)}
TEXT_KINDS = frozenset({"txt", "md", "csv"})
KNOWN_EXTENSIONS = frozenset(ext for kind in KINDS.values() for ext in kind.extensions)
BY_EXTENSION = {ext: kind for kind in KINDS.values() for ext in kind.extensions}

# The main part's content type in [Content_Types].xml -> kind.
_MAIN_PARTS = {
    _OOXML + "wordprocessingml.document.main+xml": "docx",
    _OOXML + "presentationml.presentation.main+xml": "pptx",
    _OOXML + "spreadsheetml.sheet.main+xml": "xlsx",
}

# What to say when a file claims a type (by its name) but is not a sound one.
DAMAGED = {
    "pdf": "doc.damaged_pdf",
    "docx": "doc.damaged_word",
    "pptx": "doc.damaged_powerpoint",
    "xlsx": "doc.damaged_excel",
    "png": "doc.damaged_image",
    "jpeg": "doc.damaged_image",
}
_LEGACY_OFFICE = {".doc", ".xls", ".ppt", ".dot", ".xlt", ".pot", ".pps"}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
# Control characters text may not contain (tab, newlines, form feed and vertical tab are fine).
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def extension_of(filename: str) -> str:
    from kbportal.services.filenames import split_extension

    return split_extension(filename or "")[1].lower()


def claimed_kind(filename: str) -> str | None:
    kind = BY_EXTENSION.get(extension_of(filename))
    return kind.name if kind else None


def sniff(path: Path, filename: str = "") -> Kind:
    """The kind of the file at ``path``; raises Rejected."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise Rejected("doc.empty")
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
    ext = extension_of(filename)
    claimed = claimed_kind(filename)

    if b"%PDF-" in head[:1024]:
        return KINDS["pdf"]
    if head.startswith(_PNG_MAGIC):
        return KINDS["png"]
    if head.startswith(_JPEG_MAGIC):
        return KINDS["jpeg"]
    if head.startswith(_ZIP_MAGICS):
        return _office_kind(path, claimed)
    if head.startswith(_OLE_MAGIC):
        # Old binary Office files, and password-protected new ones (an OLE wrapper
        # around an encrypted package).
        if claimed in ("docx", "pptx", "xlsx"):
            raise Rejected("doc.encrypted_office")
        raise Rejected("doc.legacy_office")
    if ext in _LEGACY_OFFICE:
        raise Rejected("doc.legacy_office")

    problem = _text_problem(path)
    if problem is None and (ext == "" or (claimed is not None and claimed in TEXT_KINDS)):
        return KINDS[claimed] if claimed else KINDS["txt"]
    if claimed in DAMAGED:
        raise Rejected(DAMAGED[claimed])
    if problem == "encoding" and claimed in TEXT_KINDS:
        raise Rejected("doc.text_not_utf8")
    raise Rejected("doc.type_not_allowed")


def _office_kind(path: Path, claimed: str | None) -> Kind:
    damaged = DAMAGED.get(claimed or "", "doc.type_not_allowed")
    if claimed not in ("docx", "pptx", "xlsx"):
        damaged = "doc.type_not_allowed"
    try:
        with zipfile.ZipFile(path) as z:
            try:
                info = z.getinfo("[Content_Types].xml")
            except KeyError:
                raise Rejected(damaged) from None
            if info.file_size > MAX_CONTENT_TYPES_BYTES:
                raise Rejected(damaged)
            with z.open(info) as f:
                content_types = f.read(MAX_CONTENT_TYPES_BYTES + 1).decode("utf-8", errors="replace")
    except Rejected:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise Rejected(damaged) from None
    for part, kind in _MAIN_PARTS.items():
        if f'"{part}"' in content_types:
            return KINDS[kind]
    raise Rejected(damaged)


def _text_problem(path: Path) -> str | None:
    """None for clean UTF-8 text; "encoding" or "binary" otherwise (streams the whole file)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1024 * 1024):
                if b"\x00" in chunk:
                    return "binary"
                if _has_controls(decoder.decode(chunk)):
                    return "binary"
            if _has_controls(decoder.decode(b"", final=True)):
                return "binary"
    except UnicodeDecodeError:
        return "encoding"
    return None


def _has_controls(text: str) -> bool:
    return _CONTROLS.search(text) is not None
