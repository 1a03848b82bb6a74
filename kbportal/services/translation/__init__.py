"""Machine translation of content (Argos Translate behind a small interface).

Argos is an implementation detail (``argos``): another backend can replace it by
providing the :class:`Translator` protocol. Everything is offline: operators
install ``.argosmodel`` files; nothing is ever downloaded.

    install_package(Path("translate-en_de-1_9.argosmodel"))   # ValidationFailed if unusable
    pairs()                      # [LanguagePair("en", "de"), LanguagePair("de", "id", via="en"), ...]
    translate_text("Hello world.", "en", "de").text            # PairMissing names the package
    translate_markdown(article_md, "en", "de", progress)
    translate_docx(src_path, dest_path, "en", "de", progress)  # DocxResult
    translate_pdf(pdf_path, "en", "de", progress)              # TranslationResult (plain text)
    translate_extracted_text(version.text, "en", "de")         # same, from stored PDF text
    translate_metadata(title, description, "en", "de")         # TranslatedMetadata
    docx_segments(src_path) / text_segments(version.text)      # what a reviewer corrects
    translate_docx(..., overrides={segment_key(s): corrected})  # corrections win, formatting kept

Every call goes through the segment cache (``cache``): translating the same text
again costs a database lookup, not a model run. Long work takes
``progress(done, total)`` (segments) so a job can report it. Packages live under
``<data dir>/translation/packages`` on each node; one :class:`TranslationEngine`
(with its loaded models) is kept per data dir and process.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from kbportal.config import get_settings
from kbportal.services.translation.argos import ArgosTranslator
from kbportal.services.translation.cache import SegmentCache, segment_key
from kbportal.services.translation.docx_doc import DocxResult, docx_segments
from kbportal.services.translation.docx_doc import translate_docx as _translate_docx
from kbportal.services.translation.engine import Batch, TranslationEngine
from kbportal.services.translation.markdown_doc import translate_markdown as _translate_markdown
from kbportal.services.translation.metadata import TranslatedMetadata
from kbportal.services.translation.metadata import translate_metadata as _translate_metadata
from kbportal.services.translation.packages import PackageStore
from kbportal.services.translation.pdf_doc import translate_extracted_text as _translate_extracted_text
from kbportal.services.translation.pdf_doc import text_segments
from kbportal.services.translation.pdf_doc import translate_pdf as _translate_pdf
from kbportal.services.translation.types import (
    PIVOT,
    LanguagePair,
    ModelFailed,
    PackageInfo,
    PackageNotInstalled,
    PairMissing,
    Progress,
    TranslationResult,
    Translator,
    package_name,
)

__all__ = [
    "PIVOT", "ArgosTranslator", "Batch", "DocxResult", "LanguagePair", "ModelFailed", "PackageInfo",
    "PackageNotInstalled", "PackageStore", "PairMissing", "Progress", "SegmentCache", "TranslatedMetadata",
    "TranslationEngine", "TranslationResult", "Translator", "can_translate", "docx_segments", "get_engine",
    "install_package", "machine_translations", "segment_key", "text_segments",
    "package_name", "packages", "pairs", "remove_package", "reset", "translate_docx", "translate_extracted_text",
    "translate_markdown", "translate_metadata", "translate_pdf", "translate_text", "translation_dir",
]

_lock = threading.Lock()
_engines: dict[Path, TranslationEngine] = {}


def translation_dir() -> Path:
    return get_settings().resolved_data_dir / "translation"


def get_engine() -> TranslationEngine:
    """The engine of the current data dir: Argos over its packages, the database cache."""
    root = translation_dir()
    with _lock:
        engine = _engines.get(root)
        if engine is None:
            if len(_engines) >= 4:  # tests switch data dirs; keep memory bounded
                _engines.pop(next(iter(_engines)))
            engine = _engines[root] = TranslationEngine(ArgosTranslator(PackageStore(root)), SegmentCache())
        return engine


def reset() -> None:
    """Forget engines and their loaded models (tests)."""
    with _lock:
        _engines.clear()


def _store() -> PackageStore:
    translator = get_engine().translator
    return translator.store if isinstance(translator, ArgosTranslator) else PackageStore(translation_dir())


# --------------------------------------------------------------------------- packages


def install_package(path: Path) -> PackageInfo:
    """Install an .argosmodel file (replacing the pair's package); cached translations the
    old package produced are dropped so the new model's are used."""
    info = _store().install(Path(path))
    SegmentCache().forget_through(info.source, info.target, PIVOT)
    return info


def remove_package(source: str, target: str) -> PackageInfo:
    """Uninstall a pair's package (cached translations stay usable)."""
    return _store().remove(source, target)


def packages() -> list[PackageInfo]:
    return _store().installed()


def pairs() -> list[LanguagePair]:
    """Installed pairs and the pairs reachable through English."""
    return get_engine().translator.pairs()


def can_translate(source: str, target: str) -> bool:
    return source == target or any((p.source, p.target) == (source, target) for p in pairs())


# --------------------------------------------------------------------------- translating


def translate_text(text: str, source: str, target: str, progress: Progress | None = None) -> TranslationResult:
    """Plain text (a forum post, a field) translated sentence by sentence; layout kept."""
    return get_engine().translate_text(text, source, target, progress)


def translate_markdown(text: str, source: str, target: str, progress: Progress | None = None) -> str:
    """A KB article: structure, code and URLs kept (see ``markdown_doc``)."""
    return _translate_markdown(text, source, target, get_engine(), progress)


def translate_docx(source_file: Path | bytes, dest: Path, source: str, target: str,
                   progress: Progress | None = None, overrides: Mapping[str, str] | None = None) -> DocxResult:
    """A new DOCX at ``dest`` with the same formatting (see ``docx_doc``); ``overrides``
    (``{segment_key(source segment): translation}``, a reviewer's corrections) win."""
    return _translate_docx(source_file, Path(dest), source, target, get_engine(), progress, overrides)


def translate_pdf(path: Path, source: str, target: str, progress: Progress | None = None) -> TranslationResult:
    """The PDF's text, extracted in a limited child process, translated (plain text)."""
    return _translate_pdf(Path(path), source, target, get_engine(), progress)


def translate_extracted_text(text: str, source: str, target: str, progress: Progress | None = None,
                             overrides: Mapping[str, str] | None = None) -> TranslationResult:
    """PDF text as extracted at upload (``DocumentVersion.text``), reflowed and translated."""
    return _translate_extracted_text(text, source, target, get_engine(), progress, overrides)


def machine_translations(segments: list[str], source: str, target: str, *,
                         cache_only: bool = False) -> dict[str, str]:
    """What the machine makes of ``segments`` (``{segment: translation}``): the cache, then
    the model for what it misses (``cache_only``: misses are left out)."""
    engine = get_engine()
    if source == target:
        return {s: s for s in segments}
    if cache_only:
        return SegmentCache().get_many(segments, source, target)
    return engine.translate_segments(segments, source, target)[0]


def translate_metadata(title: str, description: str, source: str, target: str) -> TranslatedMetadata:
    return _translate_metadata(title, description, source, target, get_engine())
