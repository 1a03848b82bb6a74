"""The translation pipeline every format uses: segment, look up the cache, translate the
misses in batches, remember them, put the text back together.

    engine = TranslationEngine(translator, SegmentCache())
    result = engine.translate_text("Hello world. Bye.", "en", "de")

A reviewer's corrections come in as ``overrides``: ``{sha256 of a source segment:
translation}`` (the cache's key). They win over the cache and the model and are never
written to the cache (they belong to one variant, not to the language pair).

Formats with many pieces (a DOCX has thousands of paragraphs) collect them in a
:class:`Batch` first and translate them all at once: identical segments are
translated once, one cache query covers a chunk, the model gets full batches, and
progress is reported over the whole document.

    batch = engine.batch("en", "de", progress)
    title = batch.add("Price list")
    body = batch.add("The price is new.")
    batch.run()
    title.value, body.value
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kbportal.services.translation.cache import SegmentCache, segment_key
from kbportal.services.translation.segments import Segmented, segment
from kbportal.services.translation.types import Progress, TranslationResult, Translator

MODEL_BATCH = 32  # segments per backend call: progress granularity and cache write interval


class TranslationEngine:
    def __init__(self, translator: Translator, cache: SegmentCache | None = None) -> None:
        self.translator = translator
        self.cache = cache

    def via(self, source: str, target: str) -> str | None:
        for pair in self.translator.pairs():
            if (pair.source, pair.target) == (source, target):
                return pair.via
        return None

    def translate_segments(self, segments: Iterable[str], source: str, target: str,
                           progress: Progress | None = None,
                           overrides: Mapping[str, str] | None = None) -> tuple[dict[str, str], int]:
        """``({segment: translation}, how many came from the cache)`` for distinct segments.

        The backend is only asked for what the overrides and the cache do not have (so a
        missing package only matters when something is missing from both).
        """
        todo = list(dict.fromkeys(s for s in segments if s))
        total = len(todo)
        if source == target:
            return {s: s for s in todo}, 0
        done: dict[str, str] = {}
        if overrides:
            done.update({s: overrides[k] for s in todo if (k := segment_key(s)) in overrides})
        edited = len(done)
        rest = [s for s in todo if s not in done]
        if self.cache is not None and rest:
            done.update(self.cache.get_many(rest, source, target))
        cached = len(done) - edited
        if progress is not None:
            progress(len(done), total)
        misses = [s for s in todo if s not in done]
        engine_name = ""
        for i in range(0, len(misses), MODEL_BATCH):
            chunk = misses[i:i + MODEL_BATCH]
            translated = self.translator.translate(chunk, source, target)
            fresh = dict(zip(chunk, translated))
            done.update(fresh)
            if self.cache is not None:
                if not engine_name:
                    describe = getattr(self.translator, "describe", None)
                    engine_name = describe(source, target) if describe else getattr(self.translator, "name", "")
                self.cache.put_many(fresh, source, target, engine_name)
            if progress is not None:
                progress(edited + cached + i + len(chunk), total)
        return done, cached

    def translate_text(self, text: str, source: str, target: str, progress: Progress | None = None,
                       overrides: Mapping[str, str] | None = None) -> TranslationResult:
        """``text`` translated sentence by sentence; line breaks and spacing are kept."""
        parts = segment(text)
        done, cached = self.translate_segments(parts.segments, source, target, progress, overrides)
        distinct = len(set(parts.segments))
        return TranslationResult(text=parts.join([done[s] for s in parts.segments]), source=source, target=target,
                                 segments=distinct, cached=cached,
                                 via=self.via(source, target) if source != target else None)

    def batch(self, source: str, target: str, progress: Progress | None = None,
              overrides: Mapping[str, str] | None = None) -> "Batch":
        return Batch(self, source, target, progress, overrides)


@dataclass
class Pending:
    """A text waiting in a :class:`Batch`; ``value`` is its translation after ``run()``."""

    text: str
    parts: Segmented
    value: str | None = None


class Batch:
    """Texts collected from a document, translated together by :meth:`run`.

    ``run`` may be called again after adding more (a format's second pass); progress
    then continues from where it was, over the grown total. ``segments`` and
    ``cached`` count distinct segments over all runs; ``edited`` those that came from
    ``overrides`` (a reviewer's corrections, see :meth:`TranslationEngine.translate_segments`).
    """

    def __init__(self, engine: TranslationEngine, source: str, target: str, progress: Progress | None,
                 overrides: Mapping[str, str] | None = None) -> None:
        self.engine, self.source, self.target = engine, source, target
        self._progress = progress
        self._overrides = dict(overrides or {})
        self._edited: set[str] = set()
        self.edited = 0
        self._pending: list[Pending] = []
        self._known: dict[str, str] = {}
        self.segments = 0
        self.cached = 0
        self._done_before = 0

    def add(self, text: str) -> Pending:
        item = Pending(text=text, parts=segment(text))
        if not item.parts.segments:
            item.value = text
        else:
            self._pending.append(item)
        return item

    def run(self) -> None:
        items, self._pending = self._pending, []
        new = [s for s in dict.fromkeys(s for item in items for s in item.parts.segments) if s not in self._known]
        base = self._done_before

        def report(done: int, total: int) -> None:
            if self._progress is not None:
                self._progress(base + done, base + total)

        done, cached = self.engine.translate_segments(new, self.source, self.target, report, self._overrides)
        self._known.update(done)
        if self._overrides:
            edited = {s for s in new if segment_key(s) in self._overrides}
            self._edited |= edited
            self.edited += len(edited)
        self.segments += len(new)
        self.cached += cached
        self._done_before = base + len(new)
        if not new and self._progress is not None:
            self._progress(self._done_before, self._done_before)
        for item in items:
            item.value = item.parts.join([self._known[s] for s in item.parts.segments])

    def is_edited(self, item: Pending) -> bool:
        """Whether a reviewer's correction replaced a segment of ``item`` (after ``run()``)."""
        return any(s in self._edited for s in item.parts.segments)
