"""The child process that opens untrusted files (run by ``extraction``; never import it
in the web process for parsing).

    python -m kbportal.services.extract_worker MODE INPUT WORKDIR FILENAME LIMITS_JSON

MODE ``extract``: sniff the type, check the file is sound, extract text and page
count, render a first-page thumbnail. MODE ``light``: write a smaller copy of a PDF
(images downsampled and recompressed, content streams compressed). MODE ``thumbnail``:
page count and first-page thumbnail of a PDF the portal made from an upload (LibreOffice's
PDF of a Word file), which is as untrusted as the upload itself.

The first thing it does is limit itself (CPU seconds, address space, file size,
no core dumps); the parent adds a wall-clock timeout and kills the whole process
group (so a hung ``pdftoppm`` dies too). The outcome goes to ``WORKDIR/result.json``
(``{"ok": true, ...}`` or ``{"ok": false, "code": ..., "params": {...}}``), extracted
text to ``WORKDIR/text.txt``, the thumbnail to ``WORKDIR/thumb.png``, the light PDF to
``WORKDIR/light.pdf``. Only the standard library, pypdf, python-docx, lxml and Pillow
are imported, each only when its file type needs it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

from kbportal.services.sniff import DAMAGED, Kind, Rejected, sniff

THUMB_SIDE = 480
RESULT = "result.json"
NICENESS = 5
TEXT = "text.txt"
THUMB = "thumb.png"
LIGHT = "light.pdf"


def set_limits(limits: dict) -> None:
    cpu = max(1, int(limits["cpu_seconds"]))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU at the soft limit, SIGKILL at the hard one
    memory = int(limits["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    out = int(limits["max_output_bytes"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (out, out))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Background work: requests (uploads, downloads, pages) come first on a busy machine. Mild,
    # so a check still finishes well within its wall-clock limit under load.
    os.nice(NICENESS)


# --------------------------------------------------------------------------- helpers


class TextSink:
    """Collects extracted text up to a character budget."""

    def __init__(self, max_chars: int) -> None:
        self.parts: list[str] = []
        self.left = max_chars

    @property
    def full(self) -> bool:
        return self.left <= 0

    def add(self, text: str) -> None:
        if self.full or not text:
            return
        text = text[: self.left]
        self.parts.append(text)
        self.left -= len(text)

    def value(self) -> str:
        return "\n".join(p for p in self.parts if p.strip())


def check_zip(path: Path, max_inflated: int, max_entries: int) -> None:
    """Refuse zip bombs: declared sizes first (cheap), then count bytes while inflating
    every member, stopping as soon as the total passes ``max_inflated``."""
    too_much = Rejected("doc.inflates_too_much", max_mb=max_inflated // (1024 * 1024))
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        if len(infos) > max_entries:
            raise too_much
        if sum(i.file_size for i in infos) > max_inflated:
            raise too_much
        total = 0
        for info in infos:
            with z.open(info) as member:
                while chunk := member.read(1024 * 1024):
                    total += len(chunk)
                    if total > max_inflated:
                        raise too_much


def safe_xml_parser():
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)


def xml_texts(data: bytes, tag: str) -> list[str]:
    from lxml import etree

    root = etree.fromstring(data, parser=safe_xml_parser())
    return [el.text or "" for el in root.iter(tag)]


# --------------------------------------------------------------------------- per type


def pdf_extract(path: Path, workdir: Path, sink: TextSink, limits: dict) -> dict:
    import logging

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    from pypdf import PdfReader

    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - 4096))
        if b"%%EOF" not in f.read():
            raise Rejected("doc.damaged_pdf")  # truncated (e.g. an interrupted download)
    reader = PdfReader(path, strict=False)
    encrypted = bool(reader.is_encrypted)
    if encrypted:
        try:
            opened = reader.decrypt("")
        except Exception:
            opened = 0
        if not opened:
            raise Rejected("doc.encrypted_pdf")
    pages = len(reader.pages)
    if pages < 1:
        raise Rejected("doc.damaged_pdf")
    renderer = start_pdf_thumbnail(path, workdir)  # renders while the text is extracted
    try:
        for page in reader.pages:
            if sink.full:
                break
            try:
                sink.add(page.extract_text() or "")
            except (MemoryError, RecursionError):
                raise
            except Exception:  # one unreadable page does not make the file unusable
                continue
    finally:
        thumb = finish_pdf_thumbnail(renderer, workdir, float(limits["thumbnail_seconds"]))
    return {"page_count": pages, "thumbnail": thumb, "encrypted": encrypted}


def start_pdf_thumbnail(path: Path, workdir: Path) -> subprocess.Popen | None:
    """First page as PNG, longest side 480 px, by poppler's pdftoppm (in the background)."""
    try:
        return subprocess.Popen(
            ["pdftoppm", "-png", "-f", "1", "-l", "1", "-scale-to", str(THUMB_SIDE), "-singlefile",
             str(path), str(workdir / "thumb")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:  # poppler-utils not installed: no thumbnail (the UI shows an icon)
        return None


def finish_pdf_thumbnail(renderer: subprocess.Popen | None, workdir: Path, timeout: float) -> str | None:
    if renderer is None:
        return None
    try:
        returncode = renderer.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        renderer.kill()
        renderer.wait()
        return None
    out = workdir / THUMB
    return THUMB if returncode == 0 and out.is_file() and out.stat().st_size > 0 else None


def pdf_first_page(path: Path, workdir: Path, limits: dict) -> dict:
    """Page count and first-page thumbnail of a converted PDF (``thumbnail`` None when
    pdftoppm cannot render it; the page count 0 when pypdf cannot count them)."""
    import logging

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    from pypdf import PdfReader

    renderer = start_pdf_thumbnail(path, workdir)
    try:
        pages = len(PdfReader(path, strict=False).pages)
    except (MemoryError, RecursionError):
        raise
    except Exception:
        pages = 0
    finally:
        thumb = finish_pdf_thumbnail(renderer, workdir, float(limits["thumbnail_seconds"]))
    return {"page_count": pages, "thumbnail": thumb}


def docx_extract(path: Path, sink: TextSink, limits: dict) -> dict:
    check_zip(path, int(limits["max_inflated_bytes"]), int(limits["max_zip_entries"]))
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(str(path))

    def walk(container) -> None:
        for block in container.iter_inner_content():
            if sink.full:
                return
            if isinstance(block, Paragraph):
                sink.add(block.text)
            elif isinstance(block, Table):
                for row in block.rows:
                    seen: set[int] = set()
                    for cell in row.cells:
                        if id(cell._tc) in seen:  # a merged cell appears once per grid column
                            continue
                        seen.add(id(cell._tc))
                        walk(cell)

    walk(document)
    return {"page_count": docx_pages(path, sink), "thumbnail": None}


def docx_pages(path: Path, sink: TextSink) -> int:
    """Pages as Word last counted them (docProps/app.xml), else ~3000 characters a page."""
    try:
        with zipfile.ZipFile(path) as z:
            data = z.read("docProps/app.xml")
        pages = xml_texts(data, "{http://schemas.openxmlformats.org/officeDocument/2006/extended-properties}Pages")
        if pages and pages[0].strip().isdigit() and int(pages[0]) > 0:
            return int(pages[0])
    except Exception:
        pass
    chars = sum(len(p) for p in sink.parts)
    return max(1, -(-chars // 3000)) if chars else 1


def pptx_extract(path: Path, sink: TextSink, limits: dict) -> dict:
    check_zip(path, int(limits["max_inflated_bytes"]), int(limits["max_zip_entries"]))
    import re

    a_t = "{http://schemas.openxmlformats.org/drawingml/2006/main}t"
    with zipfile.ZipFile(path) as z:
        slides = sorted((n for n in z.namelist() if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)),
                        key=lambda n: int(re.findall(r"\d+", n)[-1]))
        for name in slides:
            if sink.full:
                break
            sink.add(" ".join(xml_texts(z.read(name), a_t)))
    return {"page_count": len(slides), "thumbnail": None}


def xlsx_extract(path: Path, sink: TextSink, limits: dict) -> dict:
    check_zip(path, int(limits["max_inflated_bytes"]), int(limits["max_zip_entries"]))
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        z.read("xl/workbook.xml")  # must exist and inflate
        if "xl/sharedStrings.xml" in names:
            for text in xml_texts(z.read("xl/sharedStrings.xml"), f"{ns}t"):
                sink.add(text)
    return {"page_count": 0, "thumbnail": None}


def text_extract(path: Path, sink: TextSink) -> dict:
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        while not sink.full and (chunk := f.read(1024 * 1024)):
            sink.parts.append(chunk[: sink.left])
            sink.left -= min(len(chunk), sink.left)
    return {"page_count": 0, "thumbnail": None}


def image_extract(path: Path, kind: Kind, workdir: Path, limits: dict) -> dict:
    import warnings

    from PIL import Image

    max_pixels = int(limits["max_image_pixels"])
    # Opening reads only the header; the size is checked before any pixel is decoded.
    Image.MAX_IMAGE_PIXELS = None
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    image = Image.open(path, formats=["PNG" if kind.name == "png" else "JPEG"])
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise Rejected("doc.image_too_large", megapixels=round(width * height / 1e6),
                           max_megapixels=round(max_pixels / 1e6))
        Image.MAX_IMAGE_PIXELS = max_pixels
        if kind.name == "jpeg":
            image.draft("RGB", (THUMB_SIDE, THUMB_SIDE))
        image.load()
        thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    if thumb.mode not in ("RGB", "RGBA", "L", "LA"):
        thumb = thumb.convert("RGBA" if "A" in thumb.mode or "transparency" in thumb.info else "RGB")
    thumb.save(workdir / THUMB, "PNG", optimize=True)
    return {"page_count": 1, "thumbnail": THUMB}


def extract(path: Path, workdir: Path, filename: str, limits: dict) -> dict:
    kind = sniff(path, filename)
    sink = TextSink(int(limits["max_text_chars"]))
    try:
        if kind.name == "pdf":
            info = pdf_extract(path, workdir, sink, limits)
        elif kind.name == "docx":
            info = docx_extract(path, sink, limits)
        elif kind.name == "pptx":
            info = pptx_extract(path, sink, limits)
        elif kind.name == "xlsx":
            info = xlsx_extract(path, sink, limits)
        elif kind.is_text:
            info = text_extract(path, sink)
        else:
            info = image_extract(path, kind, workdir, limits)
    except (Rejected, MemoryError, RecursionError):
        raise
    except Exception as exc:  # the parser choked: the file is not what it claims to be
        raise Rejected(DAMAGED.get(kind.name, "doc.unreadable")) from exc
    text = "".join(sink.parts) if kind.is_text else sink.value()
    (workdir / TEXT).write_text(text, encoding="utf-8")
    return {"kind": kind.name, "encrypted": False, **info}


# --------------------------------------------------------------------------- light variant


def light(path: Path, workdir: Path, limits: dict) -> dict:
    """A smaller copy of a PDF for slow connections (``{"light": null}`` when none can be made)."""
    import io
    import logging

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(path, strict=False)
    if reader.is_encrypted:
        return {"light": None}
    writer = PdfWriter(clone_from=reader)
    max_side = int(limits["light_max_side"])
    quality = int(limits["light_quality"])
    for page in writer.pages:
        try:
            images = list(page.images)
        except Exception:
            images = []
        for image_file in images:
            try:
                image = image_file.image
                if image is None or image.mode in ("RGBA", "LA", "PA", "1") or "transparency" in image.info:
                    continue
                if image.mode not in ("RGB", "L"):
                    image = image.convert("RGB")
                if max(image.size) > max_side:
                    image = image.copy()
                    image.thumbnail((max_side, max_side))
                probe = io.BytesIO()
                image.save(probe, "JPEG", quality=quality)
                if probe.tell() >= 0.9 * len(image_file.data) and max(image_file.image.size) <= max_side:
                    continue  # re-encoding would not gain anything
                image_file.replace(image, quality=quality)
            except (MemoryError, RecursionError):
                raise
            except Exception:
                continue
        try:
            page.compress_content_streams(level=9)
        except Exception:
            pass
    try:
        writer.compress_identical_objects(remove_identicals=True, remove_orphans=True)
    except Exception:
        pass
    out = workdir / LIGHT
    with open(out, "wb") as f:
        writer.write(f)
    return {"light": LIGHT}


# --------------------------------------------------------------------------- entry point


def _write_result(workdir: Path, result: dict) -> None:
    tmp = workdir / (RESULT + ".tmp")
    tmp.write_text(json.dumps(result), encoding="utf-8")
    os.replace(tmp, workdir / RESULT)


def main(argv: list[str]) -> int:
    mode, input_path, workdir, filename, limits_json = argv
    limits = json.loads(limits_json)
    set_limits(limits)
    path, work = Path(input_path), Path(workdir)
    try:
        if mode == "extract":
            result = {"ok": True, **extract(path, work, filename, limits)}
        elif mode == "light":
            result = {"ok": True, **light(path, work, limits)}
        elif mode == "thumbnail":
            result = {"ok": True, **pdf_first_page(path, work, limits)}
        else:
            raise SystemExit(f"unknown mode {mode!r}")
    except Rejected as rejected:
        result = {"ok": False, "code": rejected.code, "params": rejected.params}
    except (MemoryError, RecursionError):
        result = {"ok": False, "code": "doc.too_complex", "params": {}}
    except Exception as exc:
        result = {"ok": False, "code": "doc.unreadable", "params": {}, "detail": f"{type(exc).__name__}: {exc}"[:500]}
    _write_result(work, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
