"""The partner logo as the fill steps need it: decoded within limits, fitted to a frame.

The logo a generation receives was normalised when it was uploaded
(:func:`kbportal.services.cobrand.branding.validate_logo`, in a child process); the
checks here (magic bytes, byte size, pixel count read from the header before any pixel
is decoded) still hold if something else is passed in.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass

from kbportal.services.cobrand.fields import megabytes
from kbportal.services.errors import ValidationFailed

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
# 1x1 transparent PNG: fills a logo frame when the partner has no logo (keeps the layout).
TRANSPARENT_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8ffff3f03"
    "0008fc02fea79aa0a00000000049454e44ae426082")


@dataclass(frozen=True)
class Logo:
    image: object  # PIL.Image.Image, RGB or RGBA, loaded
    sha256: str
    is_jpeg: bool
    data: bytes

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size  # type: ignore[attr-defined]


_cache: "OrderedDict[tuple, tuple[object, int]]" = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_BUDGET = 64 * 1024 * 1024  # decoded logos and their derivatives, per process
_cache_used = 0


def _weight(value: object) -> int:
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, tuple):
        return sum(_weight(v) for v in value)
    if isinstance(value, Logo):
        return _weight(value.image) + len(value.data)
    size = getattr(value, "size", None)
    bands = getattr(value, "getbands", None)
    if isinstance(size, tuple) and bands is not None:  # a PIL image
        return size[0] * size[1] * len(bands())
    return 64


def _cached(key: tuple, make):
    """Memoise ``make()`` under ``key`` (least recently used out first, bounded by bytes):
    the same partner logo is decoded, fitted and compressed once, not per generation."""
    global _cache_used
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key][0]
    value = make()
    weight = _weight(value)
    with _cache_lock:
        if key not in _cache and weight <= _CACHE_BUDGET // 4:
            _cache[key] = (value, weight)
            _cache_used += weight
            while _cache_used > _CACHE_BUDGET and _cache:
                _, (_, dropped) = _cache.popitem(last=False)
                _cache_used -= dropped
    return value


def load_logo(data: bytes, *, max_bytes: int = 5 * 1024 * 1024, max_pixels: int = 25_000_000) -> Logo:
    """Decode ``data`` (PNG or JPEG). Raises ValidationFailed (field "logo")."""
    if len(data) > max_bytes:
        raise ValidationFailed("cobrand.logo_too_large", field="logo", max_mb=megabytes(max_bytes))
    if data.startswith(PNG_MAGIC):
        fmt = "PNG"
    elif data.startswith(JPEG_MAGIC):
        fmt = "JPEG"
    else:
        raise ValidationFailed("cobrand.logo_type", field="logo")
    sha = hashlib.sha256(data).hexdigest()

    def make() -> Logo:
        from PIL import Image

        try:
            image = Image.open(io.BytesIO(data), formats=[fmt])
            w, h = image.size
            if w * h > max_pixels:
                raise ValidationFailed("cobrand.logo_too_many_pixels", field="logo",
                                       megapixels=round(w * h / 1e6, 1), max_megapixels=round(max_pixels / 1e6))
            image.load()
        except ValidationFailed:
            raise
        except Exception as exc:
            raise ValidationFailed("cobrand.logo_unreadable", field="logo") from exc
        has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
        image = image.convert("RGBA" if has_alpha else "RGB")
        return Logo(image=image, sha256=sha, is_jpeg=fmt == "JPEG" and image.mode == "RGB", data=data)

    return _cached(("logo", sha, max_pixels), make)


def fit_png(logo: Logo, box_w: float, box_h: float, max_w_px: int, max_h_px: int) -> bytes:
    """A PNG with the aspect ratio of the box (``box_w`` x ``box_h``, any unit) holding the
    logo centred and as large as fits without distortion; transparent around it. At most
    ``max_w_px`` x ``max_h_px`` pixels (the logo is never scaled up)."""
    box_w, box_h = max(box_w, 1.0), max(box_h, 1.0)
    key = ("fit", logo.sha256, round(box_w / box_h, 4), max_w_px, max_h_px)

    def make() -> bytes:
        from PIL import Image

        image = logo.image
        w, h = image.size  # type: ignore[attr-defined]
        ratio = box_w / box_h
        if w / h > ratio:
            cw, ch = w, max(1, round(w / ratio))
        else:
            cw, ch = max(1, round(h * ratio)), h
        scale = min(1.0, max_w_px / cw, max_h_px / ch)
        if scale < 1.0:
            image = image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)
            cw, ch = max(1, round(cw * scale)), max(1, round(ch * scale))
        canvas = Image.new("RGBA", (cw, ch), (255, 255, 255, 0))
        iw, ih = image.size
        canvas.paste(image, ((cw - iw) // 2, (ch - ih) // 2), image if image.mode == "RGBA" else None)
        out = io.BytesIO()
        canvas.save(out, "PNG", compress_level=3)
        return out.getvalue()

    return _cached(key, make)


def scaled(logo: Logo, max_w_px: int, max_h_px: int):
    """The logo scaled down (never up) to fit ``max_w_px`` x ``max_h_px`` (cached)."""
    key = ("scaled", logo.sha256, max_w_px, max_h_px)

    def make():
        from PIL import Image

        image = logo.image
        w, h = image.size  # type: ignore[attr-defined]
        scale = min(1.0, max_w_px / w, max_h_px / h)
        if scale < 1.0:
            image = image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)  # type: ignore[attr-defined]
        return image

    return _cached(key, make)
