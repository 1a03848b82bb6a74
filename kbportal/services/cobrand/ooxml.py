"""Reading a DOCX package safely and finding placeholders in it (shared by detection and fill).

A DOCX is a zip of XML parts. :class:`DocxPackage` reads every member while counting
the bytes actually inflated (declared sizes can lie), refuses zip bombs, too many or
duplicate members, and parses XML without entities, DTDs or network access.

Placeholders are ``{{name}}`` (spaces inside the braces allowed, names are letters,
digits and ``_``, starting with a letter; matched case-insensitively, stored lower
case). Word often splits one across runs (``{{part`` | ``ner_na`` | ``me}}``), so the
text of a paragraph is read across all its ``w:t`` nodes (runs, hyperlinks, smart
tags, insertions) but not into nested paragraphs (text boxes are paragraphs of their
own): :func:`paragraph_nodes`.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from kbportal.services.cobrand.fields import megabytes
from kbportal.services.errors import ValidationFailed

MB = 1024 * 1024

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
PIC = "http://schemas.openxmlformats.org/drawingml/2006/picture"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"

W_P, W_T, W_R, W_INSTR, W_TXBX, W_BR, W_TAB = (f"{{{W}}}{n}" for n in (
    "p", "t", "r", "instrText", "txbxContent", "br", "tab"))
W_FLDSIMPLE = f"{{{W}}}fldSimple"
W_INSTR_ATTR = f"{{{W}}}instr"

REL_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
REL_IMAGE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
STORY_REL_TYPES = {"header", "footer", "footnotes", "endnotes"}
DOCUMENT_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
}

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_]{0,63})\s*\}\}")
# Something that looks meant as a placeholder but is not a valid one: "{{partner name}}", "{{}}".
MALFORMED = re.compile(r"\{\{(?!\s*[A-Za-z][A-Za-z0-9_]{0,63}\s*\}\})[^{}]{0,80}\}\}")
LOGO_ALT = re.compile(r"^\s*\{\{\s*partner_logo\s*\}\}\s*$", re.IGNORECASE)
# A placeholder in a URL, possibly percent-encoded by Word ("%7B%7Bpartner_email%7D%7D").
URL_PLACEHOLDER = re.compile(r"(?:\{\{|%7[bB]%7[bB])(?:\s|%20)*([A-Za-z][A-Za-z0-9_]{0,63})(?:\s|%20)*(?:\}\}|%7[dD]%7[dD])")


def xml_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False)


def parse_xml(data: bytes) -> etree._Element:
    try:
        root = etree.fromstring(data, parser=xml_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise ValidationFailed("cobrand.template_unreadable", field="file") from exc
    if root is None:
        raise ValidationFailed("cobrand.template_unreadable", field="file")
    return root


def serialize_xml(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


@dataclass
class Relationship:
    id: str
    type: str
    target: str
    external: bool
    element: etree._Element


@dataclass
class DocxPackage:
    """All members of a DOCX, read within limits."""

    members: dict[str, bytes]
    order: list[str]
    main: str = ""
    content_types: etree._Element | None = None
    _xml: dict[str, etree._Element] = field(default_factory=dict)
    _rels: dict[str, etree._Element] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path, *, max_inflated: int = 100 * MB, max_entries: int = 5000) -> "DocxPackage":
        too_big = ValidationFailed("cobrand.template_inflates_too_much", field="file", max_mb=megabytes(max_inflated))
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise ValidationFailed("cobrand.template_unreadable", field="file") from exc
        with zf:
            infos = zf.infolist()
            if len(infos) > max_entries:
                raise too_big
            if sum(i.file_size for i in infos) > max_inflated:
                raise too_big
            members: dict[str, bytes] = {}
            order: list[str] = []
            total = 0
            for info in infos:
                if info.is_dir():
                    continue
                name = info.filename
                if name in members or name.startswith("/") or ".." in name.split("/"):
                    raise ValidationFailed("cobrand.template_unreadable", field="file")
                chunks = []
                try:
                    with zf.open(info) as member:
                        while chunk := member.read(MB):
                            total += len(chunk)
                            if total > max_inflated:
                                raise too_big
                            chunks.append(chunk)
                except ValidationFailed:
                    raise
                except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
                        RuntimeError) as exc:  # RuntimeError: encrypted member
                    raise ValidationFailed("cobrand.template_unreadable", field="file") from exc
                members[name] = b"".join(chunks)
                order.append(name)
        package = cls(members=members, order=order)
        package._locate_main()
        return package

    # ------------------------------------------------------------------ structure

    def _locate_main(self) -> None:
        if "[Content_Types].xml" not in self.members:
            raise ValidationFailed("cobrand.template_unreadable", field="file")
        self.content_types = parse_xml(self.members["[Content_Types].xml"])
        main = ""
        if "_rels/.rels" in self.members:
            for rel in self.relationships(""):
                if rel.type == REL_OFFICE_DOCUMENT and not rel.external:
                    main = rel.target
                    break
        main = main or "word/document.xml"
        if main not in self.members:
            raise ValidationFailed("cobrand.template_unreadable", field="file")
        if self.content_type(main) not in DOCUMENT_TYPES:
            raise ValidationFailed("cobrand.template_not_docx", field="file")
        self.main = main

    def content_type(self, part: str) -> str:
        assert self.content_types is not None
        for el in self.content_types.iter(f"{{{CT}}}Override"):
            if el.get("PartName", "").lstrip("/") == part:
                return el.get("ContentType", "")
        ext = part.rsplit(".", 1)[-1].lower()
        for el in self.content_types.iter(f"{{{CT}}}Default"):
            if el.get("Extension", "").lower() == ext:
                return el.get("ContentType", "")
        return ""

    @staticmethod
    def rels_name(part: str) -> str:
        folder, name = posixpath.split(part)
        return posixpath.join(folder, "_rels", name + ".rels")

    def rels_root(self, part: str, create: bool = False) -> etree._Element | None:
        name = self.rels_name(part)
        if name not in self._rels:
            if name in self.members:
                self._rels[name] = parse_xml(self.members[name])
            elif create:
                self._rels[name] = etree.Element(f"{{{PKG_REL}}}Relationships", nsmap={None: PKG_REL})
            else:
                return None
        return self._rels[name]

    def relationships(self, part: str) -> list[Relationship]:
        root = self.rels_root(part)
        if root is None:
            return []
        folder = posixpath.dirname(part)
        out = []
        for el in root.iter(f"{{{PKG_REL}}}Relationship"):
            external = el.get("TargetMode", "") == "External"
            target = el.get("Target", "")
            if not external:
                target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                    posixpath.join(folder, target))
            out.append(Relationship(el.get("Id", ""), el.get("Type", ""), target, external, el))
        return out

    def story_parts(self) -> list[str]:
        """The main document, then its headers, footers, footnotes and endnotes, in the order
        the document's relationships name them."""
        parts = [self.main]
        for rel in self.relationships(self.main):
            kind = rel.type.rsplit("/", 1)[-1]
            if kind in STORY_REL_TYPES and not rel.external and rel.target in self.members and rel.target not in parts:
                parts.append(rel.target)
        return parts

    def xml(self, part: str) -> etree._Element:
        if part not in self._xml:
            self._xml[part] = parse_xml(self.members[part])
        return self._xml[part]

    def mark_changed(self, part: str) -> None:
        """The parsed tree of ``part`` replaces its bytes when the package is written."""
        self.xml(part)

    def add_member(self, name: str, data: bytes) -> None:
        if name not in self.members:
            self.order.append(name)
        self.members[name] = data

    def ensure_default_content_type(self, extension: str, content_type: str) -> None:
        assert self.content_types is not None
        for el in self.content_types.iter(f"{{{CT}}}Default"):
            if el.get("Extension", "").lower() == extension.lower():
                return
        el = etree.SubElement(self.content_types, f"{{{CT}}}Default")
        el.set("Extension", extension)
        el.set("ContentType", content_type)
        self.content_types.insert(0, el)

    def add_relationship(self, part: str, rel_type: str, target: str) -> str:
        root = self.rels_root(part, create=True)
        existing = {el.get("Id") for el in root}
        n = 1
        while f"rIdKb{n}" in existing:
            n += 1
        rid = f"rIdKb{n}"
        el = etree.SubElement(root, f"{{{PKG_REL}}}Relationship")
        el.set("Id", rid)
        el.set("Type", rel_type)
        el.set("Target", target)
        return rid

    def write(self, path: Path) -> None:
        for part, root in self._xml.items():
            self.members[part] = serialize_xml(root)
        for name, root in self._rels.items():
            if name not in self.members:
                self.order.append(name)
            self.members[name] = serialize_xml(root)
        if self.content_types is not None:
            self.members["[Content_Types].xml"] = serialize_xml(self.content_types)
        order = ["[Content_Types].xml"] + [n for n in self.order if n != "[Content_Types].xml"]
        with zipfile.ZipFile(path, "w") as out:
            for name in order:
                data = self.members[name]
                compress = name.endswith((".xml", ".rels")) and len(data) > 512
                out.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED,
                             compresslevel=1 if compress else None)


# ---------------------------------------------------------------------- paragraphs


def paragraph_nodes(p: etree._Element, tag: str = W_T) -> list[etree._Element]:
    """The ``tag`` nodes (``w:t`` or ``w:instrText``) of paragraph ``p`` in document order,
    without those of paragraphs nested in it (text boxes)."""
    out = []
    stack = list(reversed(p))
    while stack:
        el = stack.pop()
        t = el.tag
        if not isinstance(t, str) or t == W_P or t == W_TXBX:
            continue
        if t == tag:
            out.append(el)
            continue
        stack.extend(reversed(el))
    return out


def iter_paragraphs(root: etree._Element) -> Iterator[etree._Element]:
    """Every paragraph, nested ones (tables, text boxes) included, in document order."""
    return root.iter(W_P)


def placeholders_in(text: str) -> list[str]:
    return [m.group(1).lower() for m in PLACEHOLDER.finditer(text)]


def replace_across(nodes: list[etree._Element], resolve: Callable[[str], str]) -> list[str]:
    """Replace every placeholder in the joined text of ``nodes``; the value goes into the
    node where the placeholder starts (keeping that run's formatting), the rest of the
    placeholder is removed from the following nodes. Returns the names found."""
    if not nodes:
        return []
    texts = [n.text or "" for n in nodes]
    full = "".join(texts)
    if "{" not in full:
        return []
    matches = list(PLACEHOLDER.finditer(full))
    if not matches:
        return []
    bounds = []  # start offset of each node
    offset = 0
    for t in texts:
        bounds.append(offset)
        offset += len(t)

    def locate(pos: int) -> int:
        # the node that holds character ``pos`` (skipping empty nodes)
        lo, hi = 0, len(texts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if bounds[mid] <= pos:
                lo = mid
            else:
                hi = mid - 1
        while lo < len(texts) - 1 and bounds[lo] + len(texts[lo]) <= pos:
            lo += 1
        return lo

    changed: set[int] = set()
    names = []
    for m in reversed(matches):
        name = m.group(1).lower()
        names.append(name)
        value = resolve(name)
        i, j = locate(m.start()), locate(m.end() - 1)
        a, b = m.start() - bounds[i], m.end() - bounds[j]
        if i == j:
            texts[i] = texts[i][:a] + value + texts[i][b:]
        else:
            texts[i] = texts[i][:a] + value
            for k in range(i + 1, j):
                texts[k] = ""
            texts[j] = texts[j][b:]
        changed.update(range(i, j + 1))
    for k in changed:
        nodes[k].text = texts[k]
        if texts[k] != texts[k].strip() or not texts[k]:
            nodes[k].set(XML_SPACE, "preserve")
    names.reverse()
    return names


def logo_frames(root: etree._Element) -> list[etree._Element]:
    """The ``wp:inline`` / ``wp:anchor`` elements of pictures whose alt text (description or
    title) is ``{{partner_logo}}``."""
    frames = []
    for doc_pr in root.iter(f"{{{WP}}}docPr"):
        if LOGO_ALT.match(doc_pr.get("descr", "") or "") or LOGO_ALT.match(doc_pr.get("title", "") or ""):
            frame = doc_pr.getparent()
            if frame is not None and frame.find(f".//{{{A}}}blip") is not None:
                frames.append(frame)
    for c_nv_pr in root.iter(f"{{{PIC}}}cNvPr"):  # alt text set only on the picture itself
        if LOGO_ALT.match(c_nv_pr.get("descr", "") or ""):
            frame = c_nv_pr
            while frame is not None and frame.tag not in (f"{{{WP}}}inline", f"{{{WP}}}anchor"):
                frame = frame.getparent()
            if frame is not None and frame not in frames and frame.find(f".//{{{A}}}blip") is not None:
                frames.append(frame)
    return frames
