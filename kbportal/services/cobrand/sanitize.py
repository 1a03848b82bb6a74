"""Cleaning what goes into and comes out of a generation.

* :func:`clean_text` - partner-supplied text: NFC, no control characters (line breaks
  only where allowed), no bidirectional override/embedding controls (they can make
  text display differently from what it is), bounded length.
* :func:`sanitize_pdf` - the output PDF carries no active content: JavaScript (document
  level, in actions, in annotations, in form fields), open actions, additional actions
  (``/AA``), launch / submit / import / rendition actions, ``javascript:`` links,
  embedded files, file-attachment / multimedia annotations, XFA; the actions and
  streams removed are blanked so their bytes are not in the file either.
* :func:`finish_pdf` - title/author metadata (and no stale XMP), compressed content
  streams, then written to disk.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

# C0/C1 controls (tab and line feed are handled by the caller), bidi embeddings and
# overrides (U+202A-U+202E, U+2066-U+2069), BOM / zero-width no-break, noncharacters.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff\ud800-\udfff]")
_SPACES = re.compile(r"[ \t\u00a0]+")

SAFE_ACTIONS = {"/GoTo", "/URI", "/Named", "/Thread", "/GoToDp"}
BAD_ANNOTATIONS = {"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D", "/Widget"}
BAD_URI_SCHEMES = ("javascript:", "vbscript:", "file:", "data:")


def clean_text(value: object, *, multiline: bool = False, max_length: int = 2000) -> str:
    """Text safe to put into a document (may be shorter than ``max_length``: the caller
    checks the length before when it must tell the user)."""
    text = unicodedata.normalize("NFC", "" if value is None else str(value))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    if multiline:
        lines = [_SPACES.sub(" ", _CONTROLS.sub("", line)).strip() for line in text.split("\n")]
        while lines and not lines[0]:
            lines.pop(0)
        while lines and not lines[-1]:
            lines.pop()
        text = "\n".join(lines)
    else:
        text = _SPACES.sub(" ", _CONTROLS.sub("", text.replace("\n", " "))).strip()
    return text[:max_length]


# ---------------------------------------------------------------------- PDF


def _blank(writer, ref) -> None:
    """Replace an indirect object by null (its bytes leave the file)."""
    from pypdf.generic import IndirectObject, NullObject

    if isinstance(ref, IndirectObject) and ref.pdf is writer:
        try:
            writer._objects[ref.idnum - 1] = NullObject()
        except (IndexError, AttributeError):
            pass


def _is_bad_action(action) -> bool:
    from pypdf.generic import DictionaryObject

    if not isinstance(action, DictionaryObject):
        return False
    kind = action.get("/S")
    if kind is None:
        return False
    if kind not in SAFE_ACTIONS:
        return True
    if kind == "/URI":
        uri = str(action.get("/URI", "")).strip().lower()
        return uri.startswith(BAD_URI_SCHEMES)
    return False


def sanitize_pdf(writer) -> None:
    """Remove active content from a PdfWriter in place (see the module doc)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    root = writer._root_object
    for key in ("/OpenAction", "/AA"):
        if key in root:
            value = root.raw_get(key)
            target = value.get_object() if isinstance(value, IndirectObject) else value
            if key == "/OpenAction" and not isinstance(target, DictionaryObject):
                continue  # a plain destination ("open at page 1") is harmless
            if key == "/OpenAction" and not _is_bad_action(target) and "/Next" not in target:
                continue
            del root[key]
            _blank(writer, value)
    names = root.get("/Names")
    if names is not None:
        names = names.get_object()
        for key in ("/JavaScript", "/EmbeddedFiles"):
            if key in names:
                value = names.raw_get(key)
                del names[key]
                _blank(writer, value)
        if not names:
            del root["/Names"]
    for key in ("/AcroForm", "/Perms", "/Collection"):
        if key in root:
            value = root.raw_get(key)
            del root[key]
            if key != "/AcroForm":
                _blank(writer, value)
            else:
                form = value.get_object()
                if isinstance(form, DictionaryObject) and "/XFA" in form:
                    _blank(writer, form.raw_get("/XFA"))

    for page in writer.pages:
        if "/AA" in page:
            _blank(writer, page.raw_get("/AA"))
            del page["/AA"]
        annots = page.get("/Annots")
        if annots is None:
            continue
        annots = annots.get_object()
        keep = ArrayObject()
        for ref in annots if isinstance(annots, list) else []:
            annot = ref.get_object() if ref is not None else None
            if not isinstance(annot, DictionaryObject) or annot.get("/Subtype") in BAD_ANNOTATIONS:
                continue
            action = annot.get("/A")
            if annot.get("/Subtype") == "/Link" and _is_bad_action(action.get_object() if action is not None else None):
                continue  # a link that only launches / runs something: drop it whole
            keep.append(ref)
        if keep:
            page[NameObject("/Annots")] = keep
        else:
            del page["/Annots"]

    # Every remaining object: drop /AA and /JS, and actions that are not safe wherever they hang
    # (link annotations, outline items, /Next chains).
    seen: set[int] = set()

    def visit(obj, depth: int = 0) -> None:
        if depth > 64:
            return
        if isinstance(obj, IndirectObject):
            if obj.pdf is not writer or obj.idnum in seen:
                return
            seen.add(obj.idnum)
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):  # streams too: their dictionary may carry actions
            for key in ("/AA", "/JS"):
                if key in obj:
                    _blank(writer, obj.raw_get(key))
                    del obj[key]
            for key in ("/A", "/Next", "/PA"):
                if key in obj:
                    raw = obj.raw_get(key)
                    value = raw.get_object() if isinstance(raw, IndirectObject) else raw
                    if _is_bad_action(value) or (isinstance(value, ArrayObject) and any(
                            _is_bad_action(v.get_object() if isinstance(v, IndirectObject) else v) for v in value)):
                        del obj[key]
                        _blank(writer, raw)
            for key, value in list(obj.items()):
                if key in ("/Parent", "/P", "/Prev", "/Last", "/Dest"):
                    continue
                visit(obj.raw_get(key), depth + 1)
        elif isinstance(obj, ArrayObject):
            for item in obj:
                visit(item, depth + 1)

    visit(root)


def finish_pdf(writer, out_path: Path, *, title: str, author: str, subject: str = "") -> tuple[int, int]:
    """Metadata, compression, write. Returns (pages, bytes)."""
    from pypdf.generic import BooleanObject, NameObject

    root = writer._root_object
    if "/Metadata" in root:  # XMP from the template: stale title/author, viewers prefer it
        _blank(writer, root.raw_get("/Metadata"))
        del root["/Metadata"]
    import time as _time

    from pypdf.generic import DictionaryObject, TextStringObject

    now = _time.strftime("D:%Y%m%d%H%M%SZ", _time.gmtime())
    info = {"/Title": title, "/Author": author, "/Creator": "kbportal", "/Producer": "kbportal",
            "/CreationDate": now, "/ModDate": now}
    if subject:
        info["/Subject"] = subject
    # replace the whole Info dictionary: no stale keywords or subject from the template
    writer._info = DictionaryObject({NameObject(k): TextStringObject(v) for k, v in info.items()})
    try:  # viewers show the title instead of the file name
        writer.create_viewer_preferences()[NameObject("/DisplayDocTitle")] = BooleanObject(True)
    except Exception:
        pass
    for page in writer.pages:
        _compress_page(page)
    drop_unreachable(writer)
    with open(out_path, "wb") as f:
        writer.write(f)
    return len(writer.pages), Path(out_path).stat().st_size


def drop_unreachable(writer) -> None:
    """Leave out every object the document no longer reaches from its catalog or Info (the
    removed form widgets, actions and scripts): pypdf writes all objects it holds."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    objects = writer._objects
    reachable: set[int] = set()
    stack: list = [writer._root_object]
    if writer._root_object.indirect_reference is not None:
        reachable.add(writer._root_object.indirect_reference.idnum)
    info = getattr(writer, "_info_obj", None)
    if isinstance(info, IndirectObject):
        reachable.add(info.idnum)
        stack.append(info.get_object())
    elif info is not None and getattr(info, "indirect_reference", None) is not None:
        reachable.add(info.indirect_reference.idnum)
        stack.append(info)
    while stack:
        obj = stack.pop()
        if isinstance(obj, DictionaryObject):  # streams too
            children = dict.values(obj)
        elif isinstance(obj, ArrayObject):
            children = list.__iter__(obj)
        else:
            continue
        for child in children:
            if isinstance(child, IndirectObject):
                if child.pdf is not writer or child.idnum in reachable:
                    continue
                reachable.add(child.idnum)
                try:
                    stack.append(child.get_object())
                except Exception:
                    continue
            elif isinstance(child, (DictionaryObject, ArrayObject)):
                stack.append(child)
    for index in range(len(objects)):
        if index + 1 not in reachable and objects[index] is not None:
            objects[index] = None


def _compress_page(page) -> None:
    """Flate-compress the page's content streams that are not compressed yet (re-encoding
    streams that already are would cost time for nothing)."""
    from pypdf.generic import ArrayObject, IndirectObject, StreamObject

    contents = page.get("/Contents")
    if contents is None:
        return
    refs = contents if isinstance(contents, ArrayObject) else [page.raw_get("/Contents")]
    for ref in refs:
        stream = ref.get_object() if isinstance(ref, IndirectObject) else ref
        if not isinstance(stream, StreamObject) or "/Filter" in stream:
            continue
        encoded = stream.flate_encode(level=6)
        if isinstance(ref, IndirectObject):
            ref.pdf._objects[ref.idnum - 1] = encoded
            encoded.indirect_reference = ref
