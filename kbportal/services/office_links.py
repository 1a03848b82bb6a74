"""Office packages (DOCX, PPTX) without their external relationships, before LibreOffice opens them.

LibreOffice loads pictures a package links to instead of embedding: over the network
(blocked separately: every profile's proxy points at a closed port, see
``cobrand.converter.block_network``) and from the server's own disk (``file:///...``),
which would put a server file into a thumbnail or a co-branded PDF. The copy made here
drops every external relationship except hyperlinks (links to follow, never loaded);
the element that used it shows nothing.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from xml.etree import ElementTree

_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_HYPERLINK = "/hyperlink"  # relationship types ending so are links to follow, never loaded
_MAX_RELS_BYTES = 4 * 1024 * 1024  # one relationships part, inflated


def _without_external(rels: bytes) -> bytes | None:
    """The relationships part ``rels`` without its external relationships (hyperlinks
    stay), or None when it has none to remove. Raises ValueError when it is not XML."""
    try:
        root = ElementTree.fromstring(rels)
    except ElementTree.ParseError as exc:
        raise ValueError("unreadable relationships part") from exc
    drop = [el for el in root if el.get("TargetMode", "").lower() == "external"
            and not el.get("Type", "").endswith(_HYPERLINK)]
    if not drop:
        return None
    for el in drop:
        root.remove(el)
    ElementTree.register_namespace("", _PKG_RELS)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def unlinked_copy(path: Path, dest: Path) -> bool:
    """Write ``dest``: the Office package at ``path`` without external relationships (see
    the module doc). False when it has none (``dest`` is not written: convert ``path``).
    Raises ValueError for a package whose relationships cannot be read."""
    changed: dict[str, bytes] = {}
    with zipfile.ZipFile(path) as package:
        for info in package.infolist():
            if not info.filename.lower().endswith(".rels"):
                continue
            if info.file_size > _MAX_RELS_BYTES:
                raise ValueError(f"relationships part {info.filename} is too big")
            with package.open(info) as member:
                data = member.read(_MAX_RELS_BYTES + 1)
            if len(data) > _MAX_RELS_BYTES:
                raise ValueError(f"relationships part {info.filename} is too big")
            rewritten = _without_external(data)
            if rewritten is not None:
                changed[info.filename] = rewritten
        if not changed:
            return False
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
            for info in package.infolist():
                if info.filename in changed:
                    out.writestr(info.filename, changed[info.filename], compress_type=zipfile.ZIP_DEFLATED)
                    continue
                if info.is_dir():
                    out.writestr(info, b"")
                    continue
                entry = zipfile.ZipInfo(info.filename, info.date_time)
                entry.compress_type = zipfile.ZIP_DEFLATED
                with package.open(info) as member, out.open(entry, "w", force_zip64=True) as copy:
                    shutil.copyfileobj(member, copy, 1024 * 1024)
    return True
