"""Upload file names made safe for storage keys, file systems and download headers.

``sanitize("../../Präsentation 日本.pdf")`` keeps what a person would recognise
("Präsentation 日本.pdf") and drops what could hurt: directories, control and
invisible formatting characters (e.g. right-to-left overrides), characters that are
reserved on Windows or awkward in S3 keys, leading dots, reserved device names and
names too long for a path component. An empty result becomes ``fallback``.
"""

from __future__ import annotations

import re
import unicodedata

# Reserved on Windows, plus the characters S3 recommends avoiding in keys.
_RESERVED = set('<>:"/\\|?*') | set("{}^%`[]~#")
_DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_SPACES = re.compile(r"\s+")
_UNDERSCORES = re.compile(r"_{2,}")
MAX_BYTES = 180  # UTF-8 bytes; leaves room for key prefixes inside a 255-byte path component
MAX_EXTENSION = 10


def split_extension(name: str) -> tuple[str, str]:
    """("report.final", ".pdf") for "report.final.pdf"; ("README", "") without one."""
    dot = name.rfind(".")
    if dot <= 0 or dot == len(name) - 1 or len(name) - dot > MAX_EXTENSION + 1 or " " in name[dot:]:
        return name, ""
    return name[:dot], name[dot:]


def _truncate_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def sanitize(name: str | None, *, max_bytes: int = MAX_BYTES, fallback: str = "document") -> str:
    """A safe file name from whatever the browser or CLI sent (never raises)."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]  # strip any directories (either separator)
    text = "".join(
        "_" if ch in _RESERVED else " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    text = _UNDERSCORES.sub("_", _SPACES.sub(" ", text)).strip().rstrip(" .")
    stem, ext = split_extension(text)
    stem = stem.strip(" .")
    if stem.split(".")[0].upper() in _DEVICE_NAMES:
        stem = f"_{stem}"
    if not stem:
        stem = fallback
    ext = ext.lower() if ext.isascii() else ""
    stem = _truncate_utf8(stem, max_bytes - len(ext.encode("utf-8"))).rstrip(" .") or fallback
    return stem + ext


def with_extension(name: str, extensions: tuple[str, ...], known: frozenset[str]) -> str:
    """``name`` ending in one of ``extensions`` (the sniffed type's; the first is preferred).

    A wrong extension that belongs to another known type is replaced ("brochure.txt"
    holding a PDF becomes "brochure.pdf"); any other one is kept and the right one
    appended ("brochure.v2" -> "brochure.v2.pdf").
    """
    stem, ext = split_extension(name)
    if ext.lower() in extensions:
        return name
    base = stem if ext.lower() in known else name
    preferred = extensions[0]
    return _truncate_utf8(base, MAX_BYTES - len(preferred)).rstrip(" .") + preferred
