"""Fill a DOCX template: placeholders everywhere Word can put them, and the logo frame.

Works on the package's XML directly (:mod:`.ooxml`), so every part the fill does not
touch is copied byte for byte, and nothing python-docx does not model (text boxes,
footnotes, field codes, relationship targets) is missed:

* text: body, tables (nested), headers and footers of every section (first/even
  pages too), footnotes, endnotes, text boxes (``w:txbxContent``, both the DrawingML
  and the VML fallback copy). A placeholder split across runs takes the formatting of
  the run where it starts. Line breaks in a value become ``w:br`` (addresses),
  tabs ``w:tab``. A field without value becomes empty.
* field codes (``w:instrText``, ``w:fldSimple``) and external relationship targets
  (hyperlinks: ``mailto:{{partner_email}}``, ``{{partner_website}}``; also when Word
  percent-encoded the braces): values are percent-encoded as URLs need.
* the logo: every picture whose alt text is ``{{partner_logo}}`` gets the partner's
  logo, centred in the frame's extent (cx/cy) at its own aspect ratio (the frame keeps
  its size, so the layout does not move); cropping and SVG variants of the template's
  picture are dropped. Without a logo the frame is left blank (transparent).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from lxml import etree

from kbportal.services.cobrand import images, ooxml
from kbportal.services.cobrand.fields import DEFAULT_LIMITS, Limits
from kbportal.services.errors import ValidationFailed

EMU_PER_INCH = 914400
LOGO_DPI = 300
_URL_SAFE = "/:@?&=+$,;#[]!~*'()-._%"
_R_EMBED = f"{{{ooxml.R}}}embed"
_R_LINK = f"{{{ooxml.R}}}link"
_BREAKS = re.compile(r"(\r\n|\n|\r|\t)")


@dataclass(frozen=True)
class FillReport:
    fields: tuple[str, ...]  # placeholders found (document order, no duplicates)
    empty: tuple[str, ...]  # of those, the ones filled with nothing
    logo_frames: int


def _url_value(value: str) -> str:
    return quote(value.strip(), safe=_URL_SAFE)


def _expand_breaks(node: etree._Element) -> None:
    """``w:t`` text with line breaks / tabs -> w:t, w:br, w:t, w:tab ... in the same run."""
    text = node.text or ""
    if not _BREAKS.search(text):
        return
    pieces = _BREAKS.split(text)
    node.text = pieces[0]
    node.set(ooxml.XML_SPACE, "preserve")
    anchor = node
    for piece in pieces[1:]:
        if not piece:
            continue
        if piece in ("\n", "\r\n", "\r"):
            el = etree.Element(ooxml.W_BR)
        elif piece == "\t":
            el = etree.Element(ooxml.W_TAB)
        else:
            el = etree.Element(ooxml.W_T)
            el.text = piece
            el.set(ooxml.XML_SPACE, "preserve")
        anchor.addnext(el)
        anchor = el


def fill_docx(template: Path, values: Mapping[str, str], logo: images.Logo | None, out: Path, *,
              partner_name: str = "", limits: Limits = DEFAULT_LIMITS) -> FillReport:
    """Write the filled copy of ``template`` to ``out``. ``values`` maps field names (lower
    case) to clean text. Raises ValidationFailed (field "file") for a broken template."""
    package = ooxml.DocxPackage.open(template, max_inflated=limits.max_inflated_bytes,
                                     max_entries=limits.max_zip_entries)

    found: list[str] = []

    def text_value(name: str) -> str:
        found.append(name)
        return values.get(name, "") if name != "partner_logo" else ""

    def url_value(name: str) -> str:
        found.append(name)
        return _url_value(values.get(name, "")) if name != "partner_logo" else ""

    frames_done = 0
    media: dict[tuple, str] = {}  # (aspect, size) -> member name
    try:
        for part in package.story_parts():
            root = package.xml(part)
            part_changed = False
            for p in list(ooxml.iter_paragraphs(root)):
                nodes = ooxml.paragraph_nodes(p)
                if nodes and ooxml.replace_across(nodes, text_value):
                    part_changed = True
                    for node in nodes:
                        _expand_breaks(node)
                instr = ooxml.paragraph_nodes(p, ooxml.W_INSTR)
                if instr:
                    joined = "".join(n.text or "" for n in instr)
                    if "{" in joined:
                        is_link = joined.strip().upper().startswith("HYPERLINK")
                        resolve = url_value if is_link else (lambda n: text_value(n).replace('"', "'"))
                        if ooxml.replace_across(instr, resolve):
                            part_changed = True
            for simple in root.iter(ooxml.W_FLDSIMPLE):
                instr_attr = simple.get(ooxml.W_INSTR_ATTR, "")
                if ooxml.URL_PLACEHOLDER.search(instr_attr):
                    simple.set(ooxml.W_INSTR_ATTR, ooxml.URL_PLACEHOLDER.sub(
                        lambda m: url_value(m.group(1).lower()), instr_attr))
                    part_changed = True
            for rel in package.relationships(part):
                if rel.external and ooxml.URL_PLACEHOLDER.search(rel.target):
                    rel.element.set("Target", ooxml.URL_PLACEHOLDER.sub(
                        lambda m: url_value(m.group(1).lower()), rel.target))
            for frame in ooxml.logo_frames(root):
                _swap_logo(package, part, frame, logo, media, partner_name)
                frames_done += 1
                part_changed = True
            if part_changed:
                package.mark_changed(part)
        package.write(out)
    except ValidationFailed:
        raise
    fields = tuple(dict.fromkeys(n for n in found if n != "partner_logo"))
    empty = tuple(n for n in fields if not values.get(n, "").strip())
    return FillReport(fields=fields, empty=empty, logo_frames=frames_done)


def _swap_logo(package: ooxml.DocxPackage, part: str, frame: etree._Element, logo: images.Logo | None,
               media: dict[tuple, str], partner_name: str) -> None:
    extent = frame.find(f"{{{ooxml.WP}}}extent")
    try:
        cx = int(extent.get("cx")) if extent is not None else 0
        cy = int(extent.get("cy")) if extent is not None else 0
    except (TypeError, ValueError):
        cx = cy = 0
    if cx <= 0 or cy <= 0:
        xfrm_ext = frame.find(f".//{{{ooxml.A}}}xfrm/{{{ooxml.A}}}ext")
        try:
            cx, cy = int(xfrm_ext.get("cx")), int(xfrm_ext.get("cy"))
        except (AttributeError, TypeError, ValueError):
            cx, cy = EMU_PER_INCH, EMU_PER_INCH
    if logo is None:
        key: tuple = ("blank",)
        data = images.TRANSPARENT_PNG
    else:
        max_w = max(16, min(4000, round(cx / EMU_PER_INCH * LOGO_DPI)))
        max_h = max(16, min(4000, round(cy / EMU_PER_INCH * LOGO_DPI)))
        key = (logo.sha256, round(cx / cy, 4), max_w, max_h)
        data = images.fit_png(logo, cx, cy, max_w, max_h)
    if key not in media:
        name = f"word/media/kbportal-logo-{len(media) + 1}.png"
        while name in package.members:
            name = name.replace(".png", "-x.png")
        package.add_member(name, data)
        package.ensure_default_content_type("png", "image/png")
        media[key] = name
    target = posixpath.relpath(media[key], posixpath.dirname(part) or ".")
    rid = package.add_relationship(part, ooxml.REL_IMAGE, target)
    for blip in frame.iter(f"{{{ooxml.A}}}blip"):
        blip.set(_R_EMBED, rid)
        if _R_LINK in blip.attrib:
            del blip.attrib[_R_LINK]
        for ext_list in blip.findall(f"{{{ooxml.A}}}extLst"):  # SVG / HD variants of the old picture
            blip.remove(ext_list)
        blip_fill = blip.getparent()
        if blip_fill is not None:
            for crop in blip_fill.findall(f"{{{ooxml.A}}}srcRect"):
                blip_fill.remove(crop)
    alt = f"{partner_name} logo".strip() if partner_name and logo is not None else ""
    for el in list(frame.iter(f"{{{ooxml.WP}}}docPr")) + list(frame.iter(f"{{{ooxml.PIC}}}cNvPr")):
        for attr in ("descr", "title"):
            if ooxml.LOGO_ALT.match(el.get(attr, "") or ""):
                el.set(attr, alt)
