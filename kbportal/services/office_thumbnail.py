"""First-page thumbnails of Word files, through LibreOffice (part of the upload check).

A DOCX upload (a document or a co-brand template) is converted to PDF by the
process-wide LibreOffice listener pool, the same one co-branded PDFs are made with
(``cobranding._converter()``: one pool per process), and the PDF's first page is
rendered by ``extraction.pdf_first_page`` exactly like an uploaded PDF's (pdftoppm in
the limited child, 480 px longest side). The PDF's page count replaces the estimate
``extract_worker.docx_pages`` made.

Hostile input: LibreOffice runs in the pool's listeners, limited in address space and
file size, and killed with their whole process group when a conversion passes
``Limits.convert_seconds``; pdftoppm and pypdf read the converted PDF in the limited
child with its own timeouts. Everything is written in a directory of the caller's
(temporary) work dir.

Best effort: when LibreOffice is not installed, fails or is too slow, :func:`render`
returns None with a warning in the log; the upload is never refused for it (the UI
shows the file-type icon).

PowerPoint files get no thumbnail: the deployment installs LibreOffice Writer only
(``libreoffice-writer-nogui``), and the pool's listeners open every file as Word.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from kbportal.services import extraction
from kbportal.services.errors import KbError

log = logging.getLogger(__name__)

KINDS = frozenset({"docx"})  # sniff kinds LibreOffice renders here


def supported(kind: str) -> bool:
    return kind in KINDS


def _converter():
    """The process-wide LibreOffice pool, shared with co-branding (tests point it at their own)."""
    from kbportal.services import cobranding

    return cobranding._converter()  # noqa: SLF001 - one pool per process, whoever asks first


def libreoffice_available() -> bool:
    """Whether an soffice executable is there (``KBPORTAL_SOFFICE`` or the usual places)."""
    from kbportal.services.cobrand import converter as lo

    soffice = lo.find_soffice()
    return bool(soffice) and bool(shutil.which(soffice) or os.access(soffice, os.X_OK))


def render(path: Path, kind: str, work: Path, *, label: str = "",
           limits: extraction.Limits | None = None) -> extraction.FirstPage | None:
    """The first page of the Office file at ``path`` as a thumbnail PNG (inside ``work``)
    with the page count of LibreOffice's PDF, or None (see the module doc). ``label``
    names the file in log messages."""
    if not supported(kind):
        return None
    limits = limits or extraction.DEFAULT_LIMITS
    label = label or Path(path).name
    if not libreoffice_available():
        log.warning("no thumbnail for %s: LibreOffice (soffice) is not installed", label)
        return None
    out = Path(tempfile.mkdtemp(prefix="office-", dir=work)).resolve()  # the child runs in it
    src, pdf = out / f"document.{kind}", out / "document.pdf"
    try:
        os.link(path, src)
    except OSError:
        shutil.copyfile(path, src)
    started = time.monotonic()
    try:
        _converter().convert(src, pdf, timeout=limits.convert_seconds)
    except KbError as failure:  # convert_timeout, convert_failed, converter_unavailable
        log.warning("no thumbnail for %s: %s after %.1f s", label, failure.code, time.monotonic() - started)
        return None
    except Exception:  # noqa: BLE001 - a thumbnail never fails the check
        log.warning("no thumbnail for %s: LibreOffice conversion failed", label, exc_info=True)
        return None
    finally:
        src.unlink(missing_ok=True)
    converted = time.monotonic()
    first = extraction.pdf_first_page(pdf, out, limits)
    if first is None:
        log.warning("no thumbnail for %s: LibreOffice's PDF could not be rendered", label)
    else:
        log.info("thumbnail for %s: converted in %.2f s, rendered in %.2f s", label, converted - started,
                 time.monotonic() - converted)
    return first
