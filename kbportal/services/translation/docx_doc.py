"""Translating a DOCX into a new DOCX with the same formatting.

Every paragraph is translated: body, tables (nested too), text boxes, headers and
footers of every section, footnotes and endnotes; plus the title in the document
properties. Paragraph properties (style, numbering, alignment) are not touched.

Runs. Word splits text into runs arbitrarily (every edit session starts a new one),
so a paragraph's runs are read as *streams*: consecutive text-only runs (directly in
the paragraph or in a hyperlink), cut at anything that is not text: a tab, a line
break, a picture, a field (page numbers, TOC entries' codes), a bookmark or comment
mark. Within a stream, runs with the same formatting (``w:rPr``) form one span, and
:mod:`.spans` translates the stream as one sentence and puts each differently
formatted span where its words went (fallback: span by span). The stream is then
written as one run per output span, each a copy of the first source run of that
formatting (so bold, italic, colour, font, size carry over), inside a copy of its
hyperlink when it came from one. ``w:lang`` of runs and of the document defaults
is set to the target language, so Word spell-checks the right language.

Spell-check marks and Word's last-rendered-page-break hints are dropped (Word
rebuilds both). Tracked insertions, content controls and smart tags are
translated as streams of their own; tracked deletions and field codes are kept.
The input is parsed in this process: call it on files that passed the upload check.

Review: :func:`docx_segments` lists the segments a reviewer corrects; passing the
corrections as ``overrides`` writes them into the same formatted output.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbportal.services.errors import ValidationFailed
from kbportal.services.translation.engine import TranslationEngine
from kbportal.services.translation.segments import is_translatable, segment
from kbportal.services.translation.spans import SpanMapping
from kbportal.services.translation.types import Progress

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def _w(tag: str) -> str:
    return f"{{{W_NS}}}{tag}"


P, R, T, RPR, HYPERLINK, FLDCHAR, LANG = (_w(t) for t in ("p", "r", "t", "rPr", "hyperlink", "fldChar", "lang"))
_DROP = {_w("proofErr"), _w("lastRenderedPageBreak")}  # Word rebuilds these
_CONTAINERS = {_w("ins"), _w("smartTag"), _w("customXml"), _w("sdtContent")}  # translated as their own streams
_SDT = _w("sdt")
_NOTES = ("application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml",
          "application/vnd.openxmlformats-officedocument.wordprocessingml.endnotes+xml")
_CORE = "application/vnd.openxmlformats-package.core-properties+xml"
_HDR_FTR = ("application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml")


@dataclass(frozen=True)
class DocxResult:
    path: Path
    paragraphs: int  # paragraphs with text that was translated
    segments: int  # distinct segments (sentences)
    cached: int  # of which came from the cache
    fell_back: int  # streams translated span by span (formatting could not be placed)
    edited: int = 0  # distinct segments taken from a reviewer's corrections


def translate_docx(source_file: Path | bytes, dest: Path, source: str, target: str, engine: TranslationEngine,
                   progress: Progress | None = None, overrides: Mapping[str, str] | None = None) -> DocxResult:
    """Write the translation of ``source_file`` (a path or the bytes) to ``dest``.

    ``overrides`` are a reviewer's corrections (``{sha256 of source segment: translation}``):
    they win over the cache and the model, so a reviewed DOCX keeps the formatting too."""
    document = _open(source_file)
    batch = engine.batch(source, target, progress, overrides)
    roots, notes, streams, paragraphs = _collect(document)
    for stream in streams:
        stream.mapping.request(batch)
    has_properties = any(part.content_type == _CORE for part in document.part.package.iter_parts())
    title = document.core_properties.title if has_properties else ""
    pending_title = batch.add(title) if title and is_translatable(title) else None

    batch.run()
    results = [stream.mapping.resolve(batch) for stream in streams]
    if any(result is None for result in results):
        batch.run()  # the streams whose formatting could not be placed, span by span
        results = [result if result is not None else stream.mapping.resolve(batch)
                   for stream, result in zip(streams, results)]
    for stream, result in zip(streams, results):
        assert result is not None
        stream.write(result)

    for root in roots:
        _set_language(root, target)
    _set_language(document.styles.element, target)
    for part, root in notes:
        from lxml import etree

        part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    if has_properties:
        if pending_title is not None and pending_title.value is not None:
            document.core_properties.title = pending_title.value
        document.core_properties.language = target
    dest.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(dest))
    return DocxResult(path=dest, paragraphs=paragraphs, segments=batch.segments, cached=batch.cached,
                      fell_back=sum(1 for s in streams if s.mapping.fell_back), edited=batch.edited)


def docx_segments(source_file: Path | bytes) -> list[str]:
    """The distinct segments :func:`translate_docx` translates, in document order: what a
    reviewer sees beside their translations (and corrects, keyed by ``segment_key``)."""
    document = _open(source_file)
    _, _, streams, _ = _collect(document)
    texts = ["".join(text for text, _ in stream.spans) for stream in streams]
    has_properties = any(part.content_type == _CORE for part in document.part.package.iter_parts())
    title = document.core_properties.title if has_properties else ""
    if title and is_translatable(title):
        texts.append(title)
    return list(dict.fromkeys(s for text in texts for s in segment(text).segments))


def _collect(document: Any) -> tuple[list[Any], list[tuple[Any, Any]], list["_Stream"], int]:
    """The document's text roots (body, headers, footers, notes), the notes parts parsed
    here, every text stream and the number of paragraphs with text."""
    roots: list[Any] = [document.element.body]
    notes: list[tuple[Any, Any]] = []  # (part, parsed root): parts python-docx keeps as bytes
    for part in document.part.package.iter_parts():
        if part.content_type in _HDR_FTR:
            roots.append(part.element)
        elif part.content_type in _NOTES:
            from docx.oxml.parser import parse_xml

            root = parse_xml(part.blob)
            notes.append((part, root))
            roots.append(root)
    streams: list[_Stream] = []
    paragraphs = 0
    for root in roots:
        for paragraph in list(root.iter(P)):
            found = _streams_of(paragraph)
            if found:
                paragraphs += 1
            streams.extend(found)
    return roots, notes, streams, paragraphs


def _open(source_file: Path | bytes) -> Any:
    """The document, or ValidationFailed("doc.damaged_word") when it is not a readable DOCX."""
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml import etree

    try:
        return docx.Document(io.BytesIO(source_file) if isinstance(source_file, bytes) else str(source_file))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, etree.XMLSyntaxError) as err:
        raise ValidationFailed("doc.damaged_word", field="file") from err


# --------------------------------------------------------------------------- reading streams


@dataclass
class _Stream:
    """Consecutive text runs of one paragraph (or container): ``elements`` are the parent's
    children they occupy (runs, hyperlinks), replaced by the translation in :meth:`write`."""

    parent: Any
    elements: list[Any]
    spans: list[tuple[str, Hashable]]
    templates: dict[Hashable, tuple[Any, Any | None]]  # style -> (run, hyperlink or None)
    mapping: SpanMapping = field(init=False)

    def __post_init__(self) -> None:
        self.mapping = SpanMapping(list(self.spans))

    def write(self, spans: list[tuple[str, Hashable]]) -> None:
        index = self.parent.index(self.elements[0])
        for element in self.elements:
            self.parent.remove(element)
        new: list[Any] = []
        current_link: tuple[Any, Any] | None = None  # (source hyperlink, its copy)
        for text, style in spans:
            if not text:
                continue
            run_template, link = self.templates[style]
            run = _text_run(run_template, text)
            if link is None:
                new.append(run)
                current_link = None
                continue
            if current_link is None or current_link[0] is not link:
                shell = copy.copy(link)
                for child in list(shell):
                    shell.remove(child)
                current_link = (link, shell)
                new.append(shell)
            current_link[1].append(run)
        for offset, element in enumerate(new):
            self.parent.insert(index + offset, element)


def _text_run(template: Any, text: str) -> Any:
    run = copy.deepcopy(template)
    for child in list(run):
        if child.tag != RPR:
            run.remove(child)
    t = run.makeelement(T, {})
    t.text = text
    if text != text.strip() or "  " in text:
        t.set(XML_SPACE, "preserve")
    run.append(t)
    return run


def _streams_of(container: Any) -> list[_Stream]:
    """The text streams of a paragraph (or an inline container), after tidying its runs."""
    for dropped in [el for el in container.iter(*_DROP)]:
        dropped.getparent().remove(dropped)
    streams: list[_Stream] = []
    current: list[tuple[Any, list[Any], Any | None]] = []  # (element, its text runs, hyperlink)
    field_depth = 0

    def close() -> None:
        if current:
            stream = _make_stream(container, current)
            if stream is not None:
                streams.append(stream)
            current.clear()

    for child in list(container):
        tag = child.tag
        if tag == R:
            for run in _split_run(child):
                field_depth = _field_depth(run, field_depth)
                if field_depth == 0 and _is_text_run(run) and not run.findall(FLDCHAR):
                    current.append((run, [run], None))
                else:
                    close()
        elif tag == HYPERLINK and field_depth == 0:
            runs = [r for part in list(child) if part.tag == R for r in _split_run(part)]
            if runs and all(_is_text_run(r) for r in runs) and len(runs) == len(child):
                current.append((child, runs, child))
            else:
                close()
                streams.extend(_streams_of(child))
        elif tag in _CONTAINERS and field_depth == 0:
            close()
            streams.extend(_streams_of(child))
        elif tag == _SDT and field_depth == 0:
            close()
            for content in child.iter(_w("sdtContent")):
                if content.getparent() is child:
                    streams.extend(_streams_of(content))
        elif tag == RPR or tag == _w("pPr"):
            continue
        else:
            close()
    close()
    return streams


def _make_stream(parent: Any, members: list[tuple[Any, list[Any], Any | None]]) -> _Stream | None:
    spans: list[tuple[str, Hashable]] = []
    templates: dict[Hashable, tuple[Any, Any | None]] = {}
    for _element, runs, link in members:
        for run in runs:
            rpr = run.find(RPR)
            key = _rpr_key(rpr)
            style: Hashable = (("link", id(link)), key) if link is not None else (key,)
            templates.setdefault(style, (run, link))
            text = "".join(t.text or "" for t in run.findall(T))
            if spans and spans[-1][1] == style:
                spans[-1] = (spans[-1][0] + text, style)
            else:
                spans.append((text, style))
    if not is_translatable("".join(text for text, _ in spans)):
        return None
    return _Stream(parent=parent, elements=[element for element, _, _ in members], spans=spans,
                   templates=templates)


def _rpr_key(rpr: Any) -> str:
    """Run formatting as a comparable string (language tags and revision ids ignored)."""
    if rpr is None:
        return ""
    from lxml import etree

    clean = copy.deepcopy(rpr)
    for el in clean.findall(LANG):
        clean.remove(el)
    for el in clean.iter():
        for attr in [a for a in el.attrib if a.startswith(f"{{{W_NS}}}rsid")]:
            del el.attrib[attr]
    return etree.tostring(clean, method="c14n").decode()


def _is_text_run(run: Any) -> bool:
    return all(child.tag in (RPR, T) for child in run)


def _split_run(run: Any) -> list[Any]:
    """A run holding text and other things (tab, break, picture) as several runs of the
    same formatting, each either text only or one other thing: the others stay put."""
    children = [c for c in run if c.tag != RPR]
    if _is_text_run(run) or len(children) <= 1:
        return [run]
    parent = run.getparent()
    index = parent.index(run)
    rpr = run.find(RPR)
    groups: list[list[Any]] = []
    for child in children:
        if child.tag == T and groups and groups[-1][0].tag == T:
            groups[-1].append(child)
        else:
            groups.append([child])
    pieces = []
    for group in groups:
        piece = run.makeelement(R, dict(run.attrib))
        if rpr is not None:
            piece.append(copy.deepcopy(rpr))
        for child in group:
            piece.append(child)  # moved, not copied: pictures keep their identity
        pieces.append(piece)
    parent.remove(run)
    for offset, piece in enumerate(pieces):
        parent.insert(index + offset, piece)
    return pieces


def _field_depth(run: Any, depth: int) -> int:
    for fld in run.iter(FLDCHAR):
        kind = fld.get(_w("fldCharType"))
        if kind == "begin":
            depth += 1
        elif kind == "end":
            depth = max(0, depth - 1)
    return depth


def _set_language(root: Any, target: str) -> None:
    for lang in root.iter(LANG):
        if lang.get(_w("val")):
            lang.set(_w("val"), target)
