"""Fill a PDF template (AcroForm) with pypdf: fill, flatten, stamp logo and footer.

* Text fields named like placeholders (``partner_name``, ``{{partner_name}}``, custom
  names) get their values; pypdf writes the appearance with the field's own font and
  size. Every widget is then flattened: its appearance is drawn into the page (scaled
  to the widget's rectangle as the PDF specification says), the widget annotations and
  the form are removed, so nobody can edit the values afterwards.
* The logo goes into the rectangle of a ``partner_logo`` field (button or text field)
  when the template has one, else into the top-right corner of every page; the footer
  line (``partner_footer``) is written at the bottom of every page unless the template
  has a ``partner_footer`` field of its own. Both are drawn upright on rotated pages.
* This path only has the fonts of the template and the 14 standard PDF fonts (Latin
  8-bit encodings): a value those cannot show (Japanese, Arabic, ...) is refused with
  ``cobrand.pdf_script_unsupported`` naming the field, instead of printing ``?``.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kbportal.services.cobrand import images
from kbportal.services.cobrand.fields import (
    DEFAULT_LIMITS,
    LOGO_FIELD,
    Limits,
    field_type,
    normalize_pdf_field_name,
    open_pdf,
    pdf_widgets,
)
from kbportal.services.errors import ValidationFailed

log = logging.getLogger(__name__)

# Scripts that need shaping or right-to-left ordering, which pypdf's appearance streams
# and the standard fonts cannot do even where a font has the glyphs.
_COMPLEX = re.compile(
    "[\u0590-\u08ff\u0900-\u0dff\u0e00-\u0fff\u1000-\u109f\u1780-\u17ff\u1800-\u18af"
    "\ufb1d-\ufdff\ufe70-\ufefe\U00010800-\U00010fff]")
FOOTER_SIZE = 8.0
FOOTER_MIN_SIZE = 5.0
FOOTER_Y = 14.0
LOGO_BOX = (150.0, 54.0)  # default logo box (points), top-right corner
LOGO_MARGIN = 20.0
STAMP_DPI = 300
HIDDEN_FLAGS = 2 | 32  # Hidden, NoView


@dataclass(frozen=True)
class PdfFillReport:
    fields: tuple[str, ...]
    empty: tuple[str, ...]
    logo_placements: int


def _helvetica_widths() -> dict[str, float]:
    from pypdf._codecs.core_font_metrics import CORE_FONT_METRICS

    return dict(CORE_FONT_METRICS["Helvetica"].character_widths)


def text_width(text: str, size: float, widths: dict[str, float]) -> float:
    default = widths.get("default", 556)
    return sum(widths.get(ch, default) for ch in text) * size / 1000.0


def _renderable(writer, widget, text: str) -> bool:
    """Whether pypdf can draw ``text`` with the field's font (as it will when filling)."""
    if not text:
        return True
    if _COMPLEX.search(text):
        return False
    try:
        from pypdf.generic._appearance_stream import TextStreamAppearance

        acro_form = writer._root_object["/AcroForm"].get_object()
        da = widget.get_inherited("/DA", acro_form.get("/DA", None))
        font_name = None
        if da:
            font_name, _, _ = TextStreamAppearance._parse_default_appearance(da.get_object())
        previous = logging.getLogger("pypdf").level
        logging.getLogger("pypdf").setLevel(logging.ERROR)
        try:
            _, font = TextStreamAppearance._find_annotation_font_resource(font_name or "/Helv", widget, acro_form,
                                                                           text)
        finally:
            logging.getLogger("pypdf").setLevel(previous)
        return bool(font.can_encode(text))
    except Exception:  # pypdf internals moved: the conservative rule
        try:
            text.encode("cp1252")
            return True
        except UnicodeEncodeError:
            return False


def _visual_frame(page) -> tuple[tuple[float, float, float, float], list[float], int]:
    """The visible box (crop box) as the reader sees it: ``(width, height)`` after the page's
    /Rotate, and the ``cm`` matrix that maps those visual coordinates to user space."""
    box = page.cropbox
    x0, y0, x1, y1 = float(box.left), float(box.bottom), float(box.right), float(box.top)
    rotate = int(page.get("/Rotate", 0) or 0) % 360
    w, h = x1 - x0, y1 - y0
    if rotate == 90:
        return (h, w, x0, y0), [0, 1, -1, 0, x1, y0], rotate
    if rotate == 180:
        return (w, h, x0, y0), [-1, 0, 0, -1, x1, y1], rotate
    if rotate == 270:
        return (h, w, x0, y0), [0, -1, 1, 0, x0, y1], rotate
    return (w, h, x0, y0), [1, 0, 0, 1, x0, y0], rotate


def _apply(m: list[float], x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def _invert(m: list[float]) -> list[float]:
    a, b, c, d, e, f = m
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    return [ia, ib, ic, id_, -(ia * e + ic * f), -(ib * e + id_ * f)]


def _fmt(values) -> str:
    return " ".join(f"{v:.4f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v) for v in values)


def _image_xobject(writer, logo: images.Logo, max_w: int, max_h: int):
    """An image XObject (with soft mask when transparent) for the logo, at most
    ``max_w`` x ``max_h`` pixels; the encoded bytes are cached per logo and size."""
    from pypdf.generic import NameObject, NumberObject, StreamObject

    def make():
        image = images.scaled(logo, max_w, max_h)
        rgb = image.convert("RGB") if image.mode != "RGB" else image
        color = zlib.compress(rgb.tobytes(), 6)
        alpha = zlib.compress(image.getchannel("A").tobytes(), 6) if image.mode == "RGBA" else None
        return image.size, color, alpha

    (w, h), color, alpha = images._cached(("pdfimg", logo.sha256, max_w, max_h), make)

    def stream(data: bytes, colorspace: str):
        s = StreamObject()
        s._data = data
        s.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
                  NameObject("/Width"): NumberObject(w), NameObject("/Height"): NumberObject(h),
                  NameObject("/ColorSpace"): NameObject(colorspace), NameObject("/BitsPerComponent"): NumberObject(8),
                  NameObject("/Filter"): NameObject("/FlateDecode")})
        return s

    img = stream(color, "/DeviceRGB")
    if alpha is not None:
        img[NameObject("/SMask")] = writer._add_object(stream(alpha, "/DeviceGray"))
    return writer._add_object(img), (w, h)


def _fit(box_w: float, box_h: float, img_w: int, img_h: int) -> tuple[float, float, float, float]:
    """Offset and size of an image fitted (centred, aspect kept) into a box."""
    scale = min(box_w / img_w, box_h / img_h)
    w, h = img_w * scale, img_h * scale
    return (box_w - w) / 2, (box_h - h) / 2, w, h


def _escape_pdf_bytes(data: bytes) -> bytes:
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)").replace(b"\r", b"\\r")


def check_footer(text: str) -> None:
    if _COMPLEX.search(text):
        raise ValidationFailed("cobrand.pdf_script_unsupported", field="partner_footer", name="partner_footer")
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        raise ValidationFailed("cobrand.pdf_script_unsupported", field="partner_footer",
                               name="partner_footer") from None


def fill_pdf(template: Path, values: Mapping[str, str], logo: images.Logo | None, *,
             limits: Limits = DEFAULT_LIMITS):
    """The filled, flattened and stamped template as a PdfWriter (not yet sanitised or
    written) and a report. Raises ValidationFailed."""
    from pypdf import PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
    )

    reader = open_pdf(template, limits)
    try:
        writer = PdfWriter(clone_from=reader)
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:
        raise ValidationFailed("cobrand.template_unreadable", field="file") from exc

    widgets = pdf_widgets(writer)
    found: list[str] = []
    per_page: dict[int, dict[str, str]] = {}
    logo_rects: list[tuple[int, list[float]]] = []
    has_footer_field = False
    for page_index, widget, field_dict, qualified in widgets:
        name = normalize_pdf_field_name(qualified)
        if name is None:
            continue
        ftype = field_type(field_dict)
        if name == LOGO_FIELD and ftype in ("/Btn", "/Tx", ""):
            try:
                logo_rects.append((page_index, [float(v) for v in widget["/Rect"]]))
            except Exception:
                pass
            continue
        if ftype != "/Tx":
            continue
        found.append(name)
        if name == "partner_footer":
            has_footer_field = True
        value = values.get(name, "")
        flags = int(field_dict.get_inherited("/Ff", 0) or 0) if hasattr(field_dict, "get_inherited") else 0
        if value and not flags & (1 << 12):  # not multiline: one line
            value = ", ".join(part.strip() for part in value.splitlines() if part.strip())
        if not _renderable(writer, widget, value):
            raise ValidationFailed("cobrand.pdf_script_unsupported", field=name, name=name)
        per_page.setdefault(page_index, {})[qualified] = value

    footer = values.get("partner_footer", "").strip()
    if footer and not has_footer_field:
        check_footer(footer)

    pypdf_logger = logging.getLogger("pypdf")
    previous = pypdf_logger.level
    pypdf_logger.setLevel(logging.ERROR)
    try:
        for page_index, page_values in per_page.items():
            writer.update_page_form_field_values(writer.pages[page_index], page_values, auto_regenerate=False,
                                                 flatten=False)
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:
        raise ValidationFailed("cobrand.template_unreadable", field="file") from exc
    finally:
        pypdf_logger.setLevel(previous)

    # ------------------------------------------------------------- flatten + stamp
    widths = _helvetica_widths()
    font_ref = None
    logo_ref = None
    logo_size = (1, 1)
    placements = 0
    logo_fields = {p for p, _ in logo_rects}
    for index, page in enumerate(writer.pages):
        ops: list[str] = []
        xobjects: dict[str, object] = {}
        annots = page.get("/Annots")
        annots = annots.get_object() if annots is not None else []
        keep = ArrayObject()
        n = 0
        for ref in annots if isinstance(annots, list) else []:
            annot = ref.get_object()
            if not isinstance(annot, DictionaryObject) or annot.get("/Subtype") != "/Widget":
                keep.append(ref)
                continue
            field_dict = annot if "/T" in annot else (annot.get("/Parent").get_object() if annot.get("/Parent") else annot)
            name = normalize_pdf_field_name(_qualified_name(field_dict))
            if name == LOGO_FIELD:
                continue  # the logo is drawn into its rectangle below
            if int(annot.get("/F", 0) or 0) & HIDDEN_FLAGS:
                continue
            drawn = _appearance(annot)
            if drawn is None:
                continue
            ap_ref, matrix = drawn
            n += 1
            key = f"/KbW{n}"
            xobjects[key] = ap_ref
            ops.append(f"q {_fmt(matrix)} cm {key} Do Q")
        if keep:
            page[NameObject("/Annots")] = keep
        elif "/Annots" in page:
            del page["/Annots"]

        frame, to_user, _ = _visual_frame(page)
        vis_w, vis_h = frame[0], frame[1]
        if logo is not None:
            boxes: list[tuple[float, float, float, float, list[float]]] = []
            if logo_rects:
                for page_index, rect in logo_rects:
                    if page_index != index:
                        continue
                    # the field's rectangle in visual coordinates, so the logo stands upright
                    inv = _invert(to_user)
                    corners = [_apply(inv, rect[0], rect[1]), _apply(inv, rect[2], rect[3])]
                    vx0, vx1 = sorted(c[0] for c in corners)
                    vy0, vy1 = sorted(c[1] for c in corners)
                    boxes.append((vx0, vy0, vx1 - vx0, vy1 - vy0, to_user))
            elif index not in logo_fields:
                bw = min(LOGO_BOX[0], vis_w * 0.3)
                bh = min(LOGO_BOX[1], vis_h * 0.12)
                boxes.append((vis_w - LOGO_MARGIN - bw, vis_h - LOGO_MARGIN - bh, bw, bh, to_user))
            for bx, by, bw, bh, m in boxes:
                if bw <= 1 or bh <= 1:
                    continue
                if logo_ref is None:
                    logo_ref, logo_size = _image_xobject(
                        writer, logo, max(16, round(LOGO_BOX[0] / 72 * STAMP_DPI) * 2),
                        max(16, round(LOGO_BOX[1] / 72 * STAMP_DPI) * 2))
                dx, dy, w, h = _fit(bw, bh, *logo_size)
                xobjects["/KbLogo"] = logo_ref
                ops.append(f"q {_fmt(m)} cm {_fmt([w, 0, 0, h, bx + dx, by + dy])} cm /KbLogo Do Q")
                placements += 1
        if footer and not has_footer_field:
            size = FOOTER_SIZE
            available = vis_w - 72
            text = footer
            while text_width(text, size, widths) > available and size > FOOTER_MIN_SIZE:
                size -= 0.5
            while text and text_width(text + "\u2026", size, widths) > available:
                text = text[:-1]
            if text != footer:
                text = text.rstrip() + "\u2026"
            x = (vis_w - text_width(text, size, widths)) / 2
            encoded = _escape_pdf_bytes(text.encode("cp1252", errors="replace")).decode("latin-1")
            if font_ref is None:
                font = DictionaryObject({
                    NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                    NameObject("/BaseFont"): NameObject("/Helvetica"),
                    NameObject("/Encoding"): NameObject("/WinAnsiEncoding")})
                font_ref = writer._add_object(font)
            ops.append(f"q {_fmt(to_user)} cm BT /KbHelv {_fmt([size])} Tf 0.25 g {_fmt([x, FOOTER_Y])} Td "
                       f"({encoded}) Tj ET Q")
        if not ops:
            continue
        resources = page.get("/Resources")
        resources = resources.get_object() if resources is not None else None
        if resources is None:
            resources = DictionaryObject()
            page[NameObject("/Resources")] = resources
        if xobjects:
            xo = resources.get("/XObject")
            xo = xo.get_object() if xo is not None else None
            if xo is None:
                xo = DictionaryObject()
                resources[NameObject("/XObject")] = xo
            for key, ref in xobjects.items():
                xo[NameObject(key)] = ref
        if font_ref is not None and footer and not has_footer_field:
            fonts = resources.get("/Font")
            fonts = fonts.get_object() if fonts is not None else None
            if fonts is None:
                fonts = DictionaryObject()
                resources[NameObject("/Font")] = fonts
            fonts[NameObject("/KbHelv")] = font_ref
        _wrap_contents(writer, page, ("\n".join(ops) + "\n").encode("latin-1"), DecodedStreamObject)

    fields = tuple(dict.fromkeys(found))
    empty = tuple(n for n in fields if not values.get(n, "").strip())
    return writer, PdfFillReport(fields=fields, empty=empty, logo_placements=placements)


def _qualified_name(field_dict) -> str:
    parts = []
    node, depth = field_dict, 0
    while node is not None and depth < 32:
        if "/T" in node:
            parts.append(str(node["/T"]))
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
        depth += 1
    return ".".join(reversed(parts))


def _appearance(annot):
    """(appearance stream reference, matrix) that draws the widget's normal appearance into
    its rectangle (PDF 32000-1 12.5.5), or None when it has none."""
    from pypdf.generic import DictionaryObject, IndirectObject, NameObject, StreamObject

    ap = annot.get("/AP")
    ap = ap.get_object() if ap is not None else None
    if not isinstance(ap, DictionaryObject) or "/N" not in ap:
        return None
    normal_raw = ap.raw_get("/N")
    normal = normal_raw.get_object() if isinstance(normal_raw, IndirectObject) else normal_raw
    if not isinstance(normal, StreamObject):
        if not isinstance(normal, DictionaryObject):
            return None
        state = annot.get("/AS")
        if state is None or state not in normal:
            return None
        normal_raw = normal.raw_get(state)
        normal = normal_raw.get_object() if isinstance(normal_raw, IndirectObject) else normal_raw
        if not isinstance(normal, StreamObject):
            return None
    if not isinstance(normal_raw, IndirectObject):
        return None
    normal[NameObject("/Type")] = NameObject("/XObject")
    normal[NameObject("/Subtype")] = NameObject("/Form")
    try:
        rect = [float(v) for v in annot["/Rect"]]
        bbox = [float(v) for v in normal.get("/BBox", [0, 0, rect[2] - rect[0], rect[3] - rect[1]])]
        m = [float(v) for v in normal.get("/Matrix", [1, 0, 0, 1, 0, 0])]
    except (TypeError, ValueError, KeyError):
        return None
    rx0, rx1 = sorted((rect[0], rect[2]))
    ry0, ry1 = sorted((rect[1], rect[3]))
    corners = [_apply(m, x, y) for x in (bbox[0], bbox[2]) for y in (bbox[1], bbox[3])]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    bw, bh = max(xs) - min(xs), max(ys) - min(ys)
    if bw <= 0 or bh <= 0 or rx1 - rx0 <= 0 or ry1 - ry0 <= 0:
        return None
    sx, sy = (rx1 - rx0) / bw, (ry1 - ry0) / bh
    return normal_raw, [sx, 0.0, 0.0, sy, rx0 - min(xs) * sx, ry0 - min(ys) * sy]


def _wrap_contents(writer, page, ops: bytes, stream_cls) -> None:
    """Page content = ``q`` + original content + ``Q`` + ``ops``: whatever graphics state
    the original leaves behind cannot shift or recolour the stamps."""
    from pypdf.generic import ArrayObject, IndirectObject, NameObject

    def new_stream(data: bytes):
        s = stream_cls()
        s.set_data(data)
        return writer._add_object(s.flate_encode(level=6) if len(data) > 256 else s)

    contents = page.get("/Contents")
    existing = []
    if contents is not None:
        raw = page.raw_get("/Contents")
        resolved = raw.get_object() if isinstance(raw, IndirectObject) else raw
        existing = list(resolved) if isinstance(resolved, ArrayObject) else [raw]
    page[NameObject("/Contents")] = ArrayObject([new_stream(b"q\n"), *existing, new_stream(b"\nQ\n" + ops)])
