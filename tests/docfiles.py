"""Real test files, built in code: PDFs, Office files, images, text, and hostile ones.

Every builder writes to ``path`` and returns it, so a test reads
``upload(make_pdf(tmp_path / "a.pdf", ["Hello"]))``. Nothing here is a mock: the
PDFs open in pypdf and poppler, the DOCX in python-docx and Word.
"""

from __future__ import annotations

import io
import random
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

# --------------------------------------------------------------------------- PDF


def _pdf_string(text: str) -> str:
    """A PDF literal string (Latin-1 text; Helvetica's WinAnsi covers the tests)."""
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def pdf_bytes(pages: Sequence[str], *, content_streams: Sequence[bytes] | None = None, compress: bool = False) -> bytes:
    """A minimal, valid PDF: one page per text (Helvetica), correct xref offsets.

    ``content_streams`` replaces the generated page contents (raw operators);
    ``compress`` stores them FlateDecode'd.
    """
    streams = list(content_streams) if content_streams is not None else [
        f"BT /F1 24 Tf 72 720 Td {_pdf_string(text)} Tj ET".encode("latin-1") for text in pages]
    n = len(streams)
    # Objects: 1 catalog, 2 pages, 3 font, then per page: page object, content stream.
    objects: list[bytes] = []
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for i, raw in enumerate(streams):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode())
        data = zlib.compress(raw, 9) if compress else raw
        extra = b" /Filter /FlateDecode" if compress else b""
        objects.append(b"<< /Length " + str(len(data)).encode() + extra + b" >>\nstream\n" + data + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def make_pdf(path: Path, pages: Sequence[str] = ("Hello partners",)) -> Path:
    path.write_bytes(pdf_bytes(pages))
    return path


def make_encrypted_pdf(path: Path, password: str = "secret") -> Path:
    """A PDF that needs a password to open (RC4-128: no crypto library needed)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(["Top secret price list"]))))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="RC4-128")
    with open(path, "wb") as out:
        writer.write(out)
    return path


def make_corrupt_pdf(path: Path) -> Path:
    """Starts like a PDF, then garbage: no objects, no xref, no trailer."""
    rng = random.Random(7)
    path.write_bytes(b"%PDF-1.7\n" + bytes(rng.randrange(256) for _ in range(4000)))
    return path


def make_truncated_pdf(path: Path) -> Path:
    """A real PDF cut off half way (an interrupted download)."""
    data = pdf_bytes([f"Page {i} of a longer brochure" for i in range(1, 9)])
    path.write_bytes(data[: len(data) // 2])
    return path


def make_cpu_heavy_pdf(path: Path, operators: int = 400_000) -> Path:
    """Small on disk, slow to parse: one page whose (compressed) content stream holds
    hundreds of thousands of text operators."""
    ops = b"BT /F1 1 Tf " + b"(x) Tj " * operators + b"ET"
    path.write_bytes(pdf_bytes([""], content_streams=[ops], compress=True))
    return path


def make_image_pdf(path: Path, pages: int = 3, side: int = 1400, quality: int = 95) -> Path:
    """A PDF of photo-like pages (noisy JPEG images), several MB: for the light variant."""
    from PIL import Image

    rng = random.Random(11)
    images = []
    for _ in range(pages):
        noise = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        images.append(noise)
    images[0].save(path, "PDF", save_all=True, append_images=images[1:], quality=quality, resolution=150)
    return path


# --------------------------------------------------------------------------- Office


def make_docx(path: Path, paragraphs: Sequence[str] = ("Hello partners",),
              table: Sequence[Sequence[str]] | None = None, heading: str | None = None) -> Path:
    import docx

    document = docx.Document()
    if heading:
        document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    document.save(str(path))
    return path


def make_docx_bomb(path: Path, inflated_mb: int = 110) -> Path:
    """A real DOCX whose word/document.xml inflates to ``inflated_mb`` MB (~0.1% of it on disk).

    The sizes in the zip headers are honest: the declared size alone gives it away.
    """
    import docx

    source = io.BytesIO()
    docx.Document().save(source)
    source.seek(0)
    padding = b" " * (1024 * 1024)
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            xml = zin.read(item.filename)
            if item.filename != "word/document.xml":
                zout.writestr(item.filename, xml)
                continue
            head, tail = xml.split(b"<w:body>", 1)
            info = zipfile.ZipInfo("word/document.xml")
            info.compress_type = zipfile.ZIP_DEFLATED
            with zout.open(info, "w", force_zip64=True) as member:
                member.write(head + b"<w:body>")
                for _ in range(inflated_mb):
                    member.write(padding)
                member.write(tail)
    return path


_CT = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
       '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>')


def make_pptx(path: Path, slides: Sequence[str] = ("Launch deck",)) -> Path:
    """A minimal PowerPoint package: content types, presentation part, one slide per text."""
    a = "http://schemas.openxmlformats.org/drawingml/2006/main"
    p = "http://schemas.openxmlformats.org/presentationml/2006/main"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CT.format(overrides=(
            '<Override PartName="/ppt/presentation.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/>')))
        z.writestr("ppt/presentation.xml", f'<p:presentation xmlns:p="{p}"/>')
        for i, text in enumerate(slides, start=1):
            z.writestr(f"ppt/slides/slide{i}.xml",
                       f'<p:sld xmlns:p="{p}" xmlns:a="{a}"><p:cSld><p:spTree><p:sp><p:txBody>'
                       f'<a:p><a:r><a:t>{text}</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>')
    return path


_PML = "http://schemas.openxmlformats.org/presentationml/2006/main"
_DML = "http://schemas.openxmlformats.org/drawingml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_PML_CT = "application/vnd.openxmlformats-officedocument.presentationml."
EMU_PER_INCH = 914400
SLIDE_16_9 = (12192000, 6858000)  # 13.333 x 7.5 in, PowerPoint's default


def _rels(*rels: tuple[str, str, str] | tuple[str, str, str, str]) -> str:
    """A relationships part: (id, type suffix, target[, "External"])."""
    items = "".join(
        f'<Relationship Id="{r[0]}" Type="{_REL}/{r[1]}" Target="{r[2]}"'
        + (f' TargetMode="{r[3]}"' if len(r) > 3 else "") + "/>" for r in rels)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{_PKG_REL}">{items}'
            "</Relationships>")


def _shape(shape_id: int, name: str, box: tuple[int, int, int, int], *, fill: str | None = None,
           text: str = "") -> str:
    """A rectangle at ``box`` (x, y, cx, cy in EMU), filled with ``fill`` (RRGGBB) or not, with ``text``."""
    x, y, cx, cy = box
    fill_xml = f'<a:solidFill><a:srgbClr val="{fill}"/></a:solidFill><a:ln><a:noFill/></a:ln>' if fill \
        else "<a:noFill/><a:ln><a:noFill/></a:ln>"
    body = f'<a:p><a:r><a:rPr lang="en-US" sz="2400"/><a:t>{text}</a:t></a:r></a:p>' if text else "<a:p/>"
    return (f'<p:sp><p:nvSpPr><p:cNvPr id="{shape_id}" name="{name}"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr>'
            f'<p:spPr><a:xfrm><a:off x="{x}" y="{y}"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
            f'<a:prstGeom prst="rect"><a:avLst/></a:prstGeom>{fill_xml}</p:spPr>'
            f'<p:txBody><a:bodyPr/><a:lstStyle/>{body}</p:txBody></p:sp>')


def _linked_picture(shape_id: int, rel_id: str, box: tuple[int, int, int, int]) -> str:
    """A picture whose image is not in the package: ``r:link`` names an external relationship."""
    x, y, cx, cy = box
    return (f'<p:pic><p:nvPicPr><p:cNvPr id="{shape_id}" name="Linked picture"/><p:cNvPicPr/><p:nvPr/></p:nvPicPr>'
            f'<p:blipFill><a:blip r:link="{rel_id}"/><a:stretch><a:fillRect/></a:stretch></p:blipFill>'
            f'<p:spPr><a:xfrm><a:off x="{x}" y="{y}"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
            f'<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr></p:pic>')


def _sp_tree(shapes: str) -> str:
    return ('<p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr>'
            '<p:grpSpPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/><a:chOff x="0" y="0"/>'
            f'<a:chExt cx="0" cy="0"/></a:xfrm></p:grpSpPr>{shapes}</p:spTree></p:cSld>')


_THEME = (
    f'<a:theme xmlns:a="{_DML}" name="Plain"><a:themeElements>'
    '<a:clrScheme name="Plain"><a:dk1><a:srgbClr val="000000"/></a:dk1><a:lt1><a:srgbClr val="FFFFFF"/></a:lt1>'
    '<a:dk2><a:srgbClr val="1F1F1F"/></a:dk2><a:lt2><a:srgbClr val="EEEEEE"/></a:lt2>'
    + "".join(f'<a:accent{i}><a:srgbClr val="4472C4"/></a:accent{i}>' for i in range(1, 7))
    + '<a:hlink><a:srgbClr val="0563C1"/></a:hlink><a:folHlink><a:srgbClr val="954F72"/></a:folHlink></a:clrScheme>'
    '<a:fontScheme name="Plain"><a:majorFont><a:latin typeface="Liberation Sans"/><a:ea typeface=""/>'
    '<a:cs typeface=""/></a:majorFont><a:minorFont><a:latin typeface="Liberation Sans"/><a:ea typeface=""/>'
    '<a:cs typeface=""/></a:minorFont></a:fontScheme>'
    '<a:fmtScheme name="Plain"><a:fillStyleLst>' + '<a:solidFill><a:schemeClr val="phClr"/></a:solidFill>' * 3
    + '</a:fillStyleLst><a:lnStyleLst>'
    + '<a:ln w="6350"><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:ln>' * 3
    + '</a:lnStyleLst><a:effectStyleLst>' + '<a:effectStyle><a:effectLst/></a:effectStyle>' * 3
    + '</a:effectStyleLst><a:bgFillStyleLst>' + '<a:solidFill><a:schemeClr val="phClr"/></a:solidFill>' * 3
    + '</a:bgFillStyleLst></a:fmtScheme></a:themeElements></a:theme>')


def make_slides_pptx(path: Path, slides: Sequence[str] = ("Launch deck",), *,
                     dark_block: tuple[float, float, float, float] | None = None,
                     linked_image: str | None = None, size: tuple[int, int] = SLIDE_16_9) -> Path:
    """A PowerPoint file that PowerPoint and LibreOffice open: theme, slide master, layout,
    and one slide per text (a text box near the top).

    ``dark_block`` puts a black rectangle on slide 1 at (left, top, right, bottom) as
    fractions of the slide; ``linked_image`` adds a picture on slide 1 whose image is an
    external relationship to that URL (not in the package: whoever opens the file may
    fetch it)."""
    width, height = size
    slide_ct = _PML_CT + "slide+xml"
    overrides = [
        ("/ppt/presentation.xml", _PML_CT + "presentation.main+xml"),
        ("/ppt/slideMasters/slideMaster1.xml", _PML_CT + "slideMaster+xml"),
        ("/ppt/slideLayouts/slideLayout1.xml", _PML_CT + "slideLayout+xml"),
        ("/ppt/theme/theme1.xml", "application/vnd.openxmlformats-officedocument.theme+xml"),
    ] + [(f"/ppt/slides/slide{i}.xml", slide_ct) for i in range(1, len(slides) + 1)]
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="png" ContentType="image/png"/>'
        + "".join(f'<Override PartName="{name}" ContentType="{ct}"/>' for name, ct in overrides) + "</Types>")
    ns = f'xmlns:a="{_DML}" xmlns:r="{_REL}" xmlns:p="{_PML}"'
    slide_ids = "".join(f'<p:sldId id="{255 + i}" r:id="rId{i + 1}"/>' for i in range(1, len(slides) + 1))
    presentation = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:presentation {ns}>'
        '<p:sldMasterIdLst><p:sldMasterId id="2147483648" r:id="rId1"/></p:sldMasterIdLst>'
        f'<p:sldIdLst>{slide_ids}</p:sldIdLst><p:sldSz cx="{width}" cy="{height}"/>'
        f'<p:notesSz cx="{height}" cy="{width}"/></p:presentation>')
    presentation_rels = _rels(("rId1", "slideMaster", "slideMasters/slideMaster1.xml"),
                              *[(f"rId{i + 1}", "slide", f"slides/slide{i}.xml") for i in range(1, len(slides) + 1)],
                              (f"rId{len(slides) + 2}", "theme", "theme/theme1.xml"))
    master = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:sldMaster {ns}>'
        '<p:cSld><p:bg><p:bgPr><a:solidFill><a:srgbClr val="FFFFFF"/></a:solidFill><a:effectLst/></p:bgPr></p:bg>'
        + _sp_tree("")[len("<p:cSld>"):]
        + '<p:clrMap bg1="lt1" tx1="dk1" bg2="lt2" tx2="dk2" accent1="accent1" accent2="accent2" accent3="accent3"'
        ' accent4="accent4" accent5="accent5" accent6="accent6" hlink="hlink" folHlink="folHlink"/>'
        '<p:sldLayoutIdLst><p:sldLayoutId id="2147483649" r:id="rId1"/></p:sldLayoutIdLst></p:sldMaster>')
    layout = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:sldLayout {ns} type="blank">'
              f'{_sp_tree("")}<p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sldLayout>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", content_types)
        z.writestr("_rels/.rels", _rels(("rId1", "officeDocument", "ppt/presentation.xml")))
        z.writestr("ppt/presentation.xml", presentation)
        z.writestr("ppt/_rels/presentation.xml.rels", presentation_rels)
        z.writestr("ppt/slideMasters/slideMaster1.xml", master)
        z.writestr("ppt/slideMasters/_rels/slideMaster1.xml.rels",
                   _rels(("rId1", "slideLayout", "../slideLayouts/slideLayout1.xml"),
                         ("rId2", "theme", "../theme/theme1.xml")))
        z.writestr("ppt/slideLayouts/slideLayout1.xml", layout)
        z.writestr("ppt/slideLayouts/_rels/slideLayout1.xml.rels",
                   _rels(("rId1", "slideMaster", "../slideMasters/slideMaster1.xml")))
        z.writestr("ppt/theme/theme1.xml", _THEME)
        for i, text in enumerate(slides, start=1):
            shapes = _shape(2, "Title", (EMU_PER_INCH // 2, EMU_PER_INCH // 4, width - EMU_PER_INCH, EMU_PER_INCH),
                            text=text)
            rels = [("rId1", "slideLayout", "../slideLayouts/slideLayout1.xml")]
            if i == 1 and dark_block:
                left, top, right, bottom = dark_block
                shapes += _shape(3, "Dark block", (int(left * width), int(top * height), int((right - left) * width),
                                                   int((bottom - top) * height)), fill="000000")
            if i == 1 and linked_image:
                shapes += _linked_picture(4, "rId2", (EMU_PER_INCH, EMU_PER_INCH, 2 * EMU_PER_INCH, EMU_PER_INCH))
                rels.append(("rId2", "image", linked_image, "External"))
            z.writestr(f"ppt/slides/slide{i}.xml",
                       f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:sld {ns}>{_sp_tree(shapes)}'
                       '<p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sld>')
            z.writestr(f"ppt/slides/_rels/slide{i}.xml.rels", _rels(*rels))
    return path


def make_xlsx(path: Path, strings: Sequence[str] = ("Price", "Model X")) -> Path:
    s = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CT.format(overrides=(
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>')))
        z.writestr("xl/workbook.xml", f'<workbook xmlns="{s}"><sheets><sheet name="Prices" sheetId="1"/></sheets></workbook>')
        z.writestr("xl/sharedStrings.xml",
                   f'<sst xmlns="{s}">' + "".join(f"<si><t>{t}</t></si>" for t in strings) + "</sst>")
    return path


def make_plain_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "just a zip")
    return path


# --------------------------------------------------------------------------- images and text


def make_png(path: Path, size: tuple[int, int] = (640, 400), color: tuple[int, int, int] = (20, 90, 200)) -> Path:
    from PIL import Image

    Image.new("RGB", size, color).save(path, "PNG")
    return path


def make_jpeg(path: Path, size: tuple[int, int] = (800, 600)) -> Path:
    from PIL import Image

    Image.new("RGB", size, (200, 120, 40)).save(path, "JPEG", quality=80)
    return path


def make_huge_png(path: Path, side: int = 12_000) -> Path:
    """144 megapixels of one colour: a few hundred KB on disk, ~430 MB once decoded."""
    from PIL import Image

    Image.new("L", (side, side), 0).save(path, "PNG", optimize=False)
    return path


def make_text(path: Path, text: str = "Hello partners\n") -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def make_exe(path: Path) -> Path:
    """Looks like a Windows executable: MZ header, PE signature, binary body."""
    rng = random.Random(3)
    header = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x80\x00\x00\x00"
    path.write_bytes(header + b"\x00" * 64 + b"PE\x00\x00" + bytes(rng.randrange(256) for _ in range(2000)))
    return path


def make_random_bytes(path: Path, size: int, seed: int = 5) -> Path:
    path.write_bytes(random.Random(seed).randbytes(size))
    return path
