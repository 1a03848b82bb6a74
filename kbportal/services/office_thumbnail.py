"""First-page thumbnails of Word and PowerPoint files, through LibreOffice (part of the upload check).

A DOCX upload (a document or a co-brand template) or a PPTX upload is converted to PDF by the
process-wide LibreOffice listener pool, the same one co-branded PDFs are made with
(``cobranding._converter()``: one pool per process), and the PDF's first page is
rendered by ``extraction.pdf_first_page`` exactly like an uploaded PDF's (pdftoppm in
the limited child, 480 px longest side; a 16:9 slide gives a landscape thumbnail). The
PDF's page count replaces the estimate ``extract_worker`` made (Word: docProps/app.xml;
PowerPoint: the slide parts, hidden slides included, which LibreOffice does not export).

Hostile input: LibreOffice runs in the pool's listeners, limited in address space and
file size, and killed with their whole process group when a conversion passes
``Limits.convert_seconds``; pdftoppm and pypdf read the converted PDF in the limited
child with its own timeouts. Everything is written in a directory of the caller's
(temporary) work dir.

Linked content: LibreOffice loads what a package links to (a picture whose relationship
is ``TargetMode="External"``: ``http://...`` as well as ``file:///...`` on the server).
The converter's profiles send no network request (``converter.block_network``), and the
work copy converted here has its external relationships removed (hyperlinks excepted:
they are not fetched), so a server file cannot show up in a thumbnail either.

Best effort: when LibreOffice is not installed, fails or is too slow, :func:`render`
returns None with a warning in the log; the upload is never refused for it (the UI
shows the file-type icon).

PowerPoint needs LibreOffice Impress (``libreoffice-impress-nogui``, installed by
``scripts/system-packages.sh``); without it a PPTX conversion fails and the version is
ready without a thumbnail, like any other failure.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from kbportal.services import extraction
from kbportal.services.office_links import unlinked_copy
from kbportal.services.errors import KbError

log = logging.getLogger(__name__)

KINDS = frozenset({"docx", "pptx"})  # sniff kinds LibreOffice renders here



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
        if unlinked_copy(path, src):
            log.info("thumbnail for %s: external links removed before conversion", label)
        else:
            try:
                os.link(path, src)
            except OSError:
                shutil.copyfile(path, src)
    except Exception as failure:  # noqa: BLE001 - not a package we can read: no thumbnail, never a failed check
        log.warning("no thumbnail for %s: its package could not be prepared (%s)", label, failure)
        src.unlink(missing_ok=True)
        return None
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
