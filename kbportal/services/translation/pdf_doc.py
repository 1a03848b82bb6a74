"""Translating a PDF's text: a readable, searchable plain-text translation (not a PDF).

The text comes from the upload pipeline's extractor (``services/extraction.py``: pypdf
in a child process with time and memory limits), or directly from a version's
stored text (``DocumentVersion.text``) when the caller has it. PDF text arrives as
visual lines: :func:`reflow` joins the lines of a paragraph (and words hyphenated
across lines) so the model sees whole sentences, and starts a new paragraph after
a short line, a blank line, or before a bullet. The result is paragraphs separated
by blank lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from kbportal.services.translation.engine import TranslationEngine
from kbportal.services.translation.types import Progress, TranslationResult

_BULLET = re.compile(r"^(?:[\u2022\u25aa\u25cf\u2013\u2014*-]|\(?\d{1,3}[.)]|[a-z][.)])\s")


def translate_pdf(path: Path, source: str, target: str, engine: TranslationEngine,
                  progress: Progress | None = None, work: Path | None = None) -> TranslationResult:
    """The translated text of the PDF at ``path``. Raises ValidationFailed (doc.* codes)
    when the file cannot be read (damaged, encrypted, too large...)."""
    from kbportal.services import extraction

    with extraction.workdir(work) as tmp:
        text = extraction.extract(Path(path), Path(path).name, tmp).text
    return translate_extracted_text(text, source, target, engine, progress)


def translate_extracted_text(text: str, source: str, target: str, engine: TranslationEngine,
                             progress: Progress | None = None,
                             overrides: Mapping[str, str] | None = None) -> TranslationResult:
    """Text extracted from a PDF (lines as laid out), reflowed and translated; ``overrides``
    (a reviewer's corrections by source segment key) win over the cache and the model."""
    return engine.translate_text(reflowed(text), source, target, progress, overrides)


def reflowed(text: str) -> str:
    """What :func:`translate_extracted_text` translates: the paragraphs, blank-line separated."""
    return "\n\n".join(reflow(text))


def text_segments(text: str) -> list[str]:
    """The distinct segments of extracted ``text`` as they are translated, in order."""
    from kbportal.services.translation.segments import segment

    return list(dict.fromkeys(segment(reflowed(text)).segments))


def reflow(text: str) -> list[str]:
    """The paragraphs of PDF-extracted ``text``, each on one line."""
    lines = [line.strip() for line in text.splitlines()]
    lengths = sorted(len(line) for line in lines if line)
    if not lengths:
        return []
    full = lengths[int(len(lengths) * 0.9)] if len(lengths) > 3 else lengths[-1]
    paragraphs: list[str] = []
    current = ""
    previous = ""
    for line in lines:
        if not line:
            if current:
                paragraphs.append(current)
            current = previous = ""
            continue
        starts_new = (not current or _BULLET.match(line) is not None or len(previous) < 0.6 * full)
        if starts_new:
            if current:
                paragraphs.append(current)
            current = line
        else:
            current = _join(current, line)
        previous = line
    if current:
        paragraphs.append(current)
    return paragraphs


def _join(left: str, right: str) -> str:
    if left.endswith("-") and len(left) > 1 and left[-2].isalpha() and right[:1].islower():
        return left[:-1] + right  # "transla-" + "tion"
    if _cjk(left[-1]) and _cjk(right[0]):
        return left + right
    return left + " " + right


def _cjk(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" or "\uff00" <= ch <= "\uffef"
