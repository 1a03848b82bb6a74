"""A tiny PDF writer for generated content (demo collateral, fixtures): text pages in
Helvetica with a title line, wrapped body lines and correct xref offsets."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence


def _literal(text: str) -> str:
    safe = text.encode("cp1252", "replace").decode("cp1252")
    return "(" + safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def text_pdf(pages: Sequence[tuple[str, str]], title: str = "") -> bytes:
    """One A4 page per (heading, body) pair; the body is wrapped at ~90 characters."""
    streams = []
    for heading, body in pages:
        ops = ["BT", "/F2 20 Tf", "56 780 Td", f"{_literal(heading)} Tj", "/F1 11 Tf", "0 -34 Td", "15 TL"]
        for paragraph in body.split("\n"):
            for line in textwrap.wrap(paragraph, 90) or [""]:
                ops.append(f"{_literal(line)} '")
        ops.append("ET")
        streams.append("\n".join(ops).encode("cp1252", "replace"))
    n = len(streams)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(f'{5 + 2 * i} 0 R' for i in range(n))}] /Count {n} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    for i, stream in enumerate(streams):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {6 + 2 * i} 0 R "
                       f"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>".encode())
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    info = len(objects) + 1
    offsets.append(len(out))
    out += f"{info} 0 obj\n<< /Title {_literal(title)} /Producer (kbportal) >>\nendobj\n".encode("cp1252", "replace")
    xref = len(out)
    out += f"xref\n0 {info + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {info + 1} /Root 1 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
