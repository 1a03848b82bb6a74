"""One LibreOffice listener: starts ``soffice`` with its own profile, talks to it over a
private UNO pipe, and converts documents to PDF on request.

Run by :mod:`kbportal.services.cobrand.converter` under a Python that has the
``uno`` module (Debian's ``python3-uno`` for ``/usr/bin/python3``)::

    /usr/bin/python3 uno_listener.py SOFFICE PROFILE_DIR PIPE_NAME START_TIMEOUT

Standard library + ``uno`` only: this file is not imported by the portal, and the
portal's virtualenv need not be able to import ``uno``.

Protocol (one JSON object per line): the listener prints ``{"ready": true}`` once
soffice answers (or ``{"ready": false, "error": ...}`` and exits). Then for each
request line ``{"src": PATH, "dst": PATH}`` on stdin it converts and answers
``{"ok": true, "pages": N}`` or ``{"ok": false, "error": TEXT, "fatal": BOOL}``.
A fatal error means soffice is gone: the listener exits after answering. End of
stdin (the pool closed it, or the pool's process died) stops soffice and exits.

The import filter follows the source's extension (``.docx``: Word 2007 XML, ``.pptx``:
PowerPoint 2007 XML; anything else: LibreOffice's type detection), the PDF export
filter the loaded document's type (a presentation: ``impress_pdf_Export``, a drawing:
``draw_pdf_Export``, a spreadsheet: ``calc_pdf_Export``, a text document:
``writer_pdf_Export``): a DOCX loads and exports exactly as it always did. The pool
prepares the profile before this starts soffice (``converter.block_network``: linked
content is never fetched over the network).

The pool starts this process in a new session and kills the whole process group on
a timeout, so a hung soffice dies with it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


def _reply(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# Import filter by the source's extension; other extensions leave it to type detection.
IMPORT_FILTERS = {
    ".docx": "MS Word 2007 XML",
    ".pptx": "Impress MS PowerPoint 2007 XML",
}
# PDF export filter by the loaded document's service (first match; a presentation is
# also a drawing document, so it comes first). Unknown types are exported as text.
EXPORT_FILTERS = (
    ("com.sun.star.presentation.PresentationDocument", "impress_pdf_Export"),
    ("com.sun.star.drawing.DrawingDocument", "draw_pdf_Export"),
    ("com.sun.star.sheet.SpreadsheetDocument", "calc_pdf_Export"),
    ("com.sun.star.text.TextDocument", "writer_pdf_Export"),
)


def export_filter(doc) -> str:
    """The PDF export filter for the loaded document ``doc``."""
    for service, name in EXPORT_FILTERS:
        try:
            if doc.supportsService(service):
                return name
        except Exception:
            break
    return "writer_pdf_Export"


def page_count(doc) -> int:
    """Pages of a text document (its layout), slides of a presentation or drawing; 0 if unknown."""
    try:
        return int(doc.CurrentController.PageCount)
    except Exception:
        pass
    try:
        return int(doc.getDrawPages().getCount())
    except Exception:
        return 0


def _alive(desktop) -> bool:
    """Whether soffice still answers over the bridge."""
    try:
        desktop.getComponents()
        return True
    except Exception:
        return False


def main(argv: list[str]) -> int:
    soffice, profile_dir, pipe_name, start_timeout = argv[0], argv[1], argv[2], float(argv[3])
    try:
        import uno  # noqa: PLC0415
        from com.sun.star.beans import PropertyValue  # noqa: PLC0415
        from com.sun.star.connection import NoConnectException  # noqa: PLC0415
    except Exception as exc:  # pragma: no cover - depends on the machine
        _reply({"ready": False, "error": f"no uno module: {exc}"})
        return 2

    def props(**values) -> tuple:
        out = []
        for name, value in values.items():
            p = PropertyValue()
            p.Name, p.Value = name, value
            out.append(p)
        return tuple(out)

    os.makedirs(profile_dir, exist_ok=True)
    profile_url = uno.systemPathToFileUrl(os.path.abspath(profile_dir))
    log = open(os.path.join(profile_dir, "soffice.log"), "ab")
    office = subprocess.Popen(
        [soffice, "--headless", "--invisible", "--nocrashreport", "--nodefault", "--nologo",
         "--nofirststartwizard", "--norestore", "--nolockcheck",
         f"-env:UserInstallation={profile_url}",
         f"--accept=pipe,name={pipe_name};urp;StarOffice.ComponentContext"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=True)

    def stop_office() -> None:
        if office.poll() is None:
            office.terminate()
            try:
                office.wait(timeout=5)
            except subprocess.TimeoutExpired:
                office.kill()
                office.wait()

    signal.signal(signal.SIGTERM, lambda *_: (stop_office(), os._exit(0)))

    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + start_timeout
    ctx = None
    while True:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe_name};urp;StarOffice.ComponentContext")
            break
        except NoConnectException:
            pass
        if time.monotonic() > deadline:
            stop_office()
            _reply({"ready": False, "error": "soffice did not answer in time"})
            return 3
        time.sleep(0.1)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    _reply({"ready": True, "pid": office.pid})

    def load_props(src: str) -> tuple:
        imported = IMPORT_FILTERS.get(os.path.splitext(src)[1].lower())
        extra = {"FilterName": imported} if imported else {}
        return props(Hidden=True, ReadOnly=True, MacroExecutionMode=0, UpdateDocMode=0, **extra)

    filter_data = uno.Any("[]com.sun.star.beans.PropertyValue", props(
        ExportNotes=False, ExportBookmarks=True, EmbedStandardFonts=False, UseTaggedPDF=False))

    def store_props(doc) -> tuple:
        return props(FilterName=export_filter(doc), Overwrite=True) + (PropertyValue("FilterData", 0, filter_data, 0),)

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            job = json.loads(line)
        except ValueError:
            _reply({"ok": False, "error": "bad request", "fatal": False})
            continue
        if office.poll() is not None:  # soffice died while idle: the job never started
            _reply({"ok": False, "error": "soffice is gone", "fatal": True, "retry": True})
            return 4
        doc = None
        try:
            doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(job["src"]), "_blank", 0,
                                               load_props(job["src"]))
            if doc is None:
                raise RuntimeError("LibreOffice could not open the document")
            pages = page_count(doc)
            uno.invoke(doc, "storeToURL", (uno.systemPathToFileUrl(job["dst"]), store_props(doc)))
            _reply({"ok": True, "pages": pages})
        except Exception as exc:
            fatal = office.poll() is not None or not _alive(desktop)
            _reply({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500], "fatal": fatal})
            if fatal:
                stop_office()
                return 4
        finally:
            if doc is not None:
                try:
                    doc.close(True)
                except Exception:
                    try:
                        doc.dispose()
                    except Exception:
                        pass
    stop_office()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
