"""The Argos Translate backend: installed packages, the English pivot, batched inference.

Uses ``argostranslate``'s package format (``argostranslate.package.Package``: metadata,
SentencePiece or BPE tokenizer, target prefix) and runs the models the way
``argostranslate.translate.apply_packaged_translation`` does (MiniSBD sentences ->
tokens -> ``ctranslate2.Translator.translate_batch`` -> detokenise), but with every
text of a call in one batch, one loaded model per pair kept per process, and no
process-wide Argos state (its own cache keeps models of removed packages alive and
is not thread-safe).

Models load on first use (a few hundred ms for real ones) under a lock; a loaded
model is dropped when its package folder disappears or is replaced (another
process ran ``kbportal translate install/remove``). Inference on one model is
serialised: with ``inter_threads=1`` CTranslate2 queues it anyway, and it keeps the
lazily built tokenizers safe. ``ARGOS_INTRA_THREADS`` (default 1 on machines with
2 cores or fewer, where more threads collapse under load), ``ARGOS_BEAM_SIZE``,
``ARGOS_BATCH_SIZE``, ``ARGOS_COMPUTE_TYPE`` tune it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kbportal.services.translation import argos_env
from kbportal.services.translation.packages import PackageStore, sbd_model
from kbportal.services.translation.segments import cap
from kbportal.services.translation.types import PIVOT, LanguagePair, ModelFailed, PackageInfo, missing_pair

# Output stops at MAX_DECODING_LENGTH tokens, so longer inputs are cut (at a clause or a
# space) until each piece has at most MAX_INPUT_TOKENS tokens: nothing is silently dropped.
MAX_SENTENCE_CHARS = 400
MAX_INPUT_TOKENS = 150
MAX_DECODING_LENGTH = 256


def _int_env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, "") or default)
    except ValueError:
        return default


def default_intra_threads() -> int:
    cpus = os.cpu_count() or 1
    return _int_env("ARGOS_INTRA_THREADS", 1 if cpus <= 2 else min(4, cpus // 2))


@dataclass
class _Model:
    """One loaded package: tokenizer, sentence splitter and CTranslate2 translator."""

    info: PackageInfo
    stamp: tuple[int, int]
    package: Any  # argostranslate.package.Package
    sbd: Any  # minisbd.SBDetect
    translator: Any  # ctranslate2.Translator
    lock: threading.Lock


class ArgosTranslator:
    """``Translator`` over the packages of a :class:`PackageStore`."""

    name = "argos"

    def __init__(self, store: PackageStore, *, intra_threads: int | None = None) -> None:
        self.store = store
        self.intra_threads = default_intra_threads() if intra_threads is None else intra_threads
        self.beam_size = _int_env("ARGOS_BEAM_SIZE", 4)
        self.batch_size = _int_env("ARGOS_BATCH_SIZE", 32)
        self.compute_type = os.environ.get("ARGOS_COMPUTE_TYPE", "auto") or "auto"
        self._models: dict[tuple[str, str], _Model] = {}
        self._loading = threading.Lock()
        self.model_calls = 0  # batches sent to a model (the cache tests and the bench read it)

    # ------------------------------------------------------------------ pairs

    def pairs(self) -> list[LanguagePair]:
        """Installed pairs, then pairs reachable through English (a->en + en->b)."""
        direct = {(p.source, p.target) for p in self.store.installed()}
        pairs = [LanguagePair(s, t) for s, t in sorted(direct)]
        into_pivot = sorted(s for s, t in direct if t == PIVOT)
        from_pivot = sorted(t for s, t in direct if s == PIVOT)
        for s in into_pivot:
            for t in from_pivot:
                if s != t and (s, t) not in direct:
                    pairs.append(LanguagePair(s, t, via=PIVOT))
        return pairs

    def route(self, source: str, target: str) -> list[tuple[str, str]]:
        """The package hops from ``source`` to ``target``; PairMissing naming what to install."""
        direct = {(p.source, p.target) for p in self.store.installed()}
        if (source, target) in direct:
            return [(source, target)]
        if source != PIVOT and target != PIVOT and (source, PIVOT) in direct and (PIVOT, target) in direct:
            return [(source, PIVOT), (PIVOT, target)]
        raise missing_pair(source, target, direct)

    def describe(self, source: str, target: str) -> str:
        """What produced a pair's translations, for the cache rows ("argos translate-en_de 1.0")."""
        parts = []
        for s, t in self.route(source, target):
            info = self.store.get(s, t)
            parts.append(f"{info.name} {info.version}" if info else f"{s}_{t}")
        return "argos " + " + ".join(parts)

    # ------------------------------------------------------------------ translating

    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        """One translation per text, in order (empty texts stay empty)."""
        if source == target:
            return list(texts)
        out = list(texts)
        for s, t in self.route(source, target):
            out = self._run(self._model(s, t), out)
        return out

    def _run(self, model: _Model, texts: list[str]) -> list[str]:
        """Like Argos: sentences of each text translated, their tokens joined, decoded once."""
        sentence_of: list[int] = []  # text index of each sentence
        tokens: list[list[str]] = []
        with model.lock:
            try:
                for i, text in enumerate(texts):
                    if not text.strip():
                        continue
                    for sentence in self._sentences(model, text):
                        for piece in self._tokens(model, sentence):
                            tokens.append(piece)
                            sentence_of.append(i)
                if not tokens:
                    return list(texts)
                prefix = [[model.package.target_prefix]] * len(tokens) if model.package.target_prefix else None
                self.model_calls += 1
                results = model.translator.translate_batch(
                    tokens, target_prefix=prefix, replace_unknowns=True, max_batch_size=self.batch_size,
                    batch_type="examples", beam_size=self.beam_size, num_hypotheses=1, length_penalty=0.2,
                    max_decoding_length=MAX_DECODING_LENGTH)
                joined: dict[int, list[str]] = {}
                for i, result in zip(sentence_of, results):
                    joined.setdefault(i, []).extend(result.hypotheses[0])
                out = list(texts)
                for i, pieces in joined.items():
                    out[i] = self._decode(model, pieces)
                return out
            except (RuntimeError, ValueError, OSError) as err:
                raise ModelFailed(None, source=model.info.source, target=model.info.target,
                                  package=model.info.name) from err

    @staticmethod
    def _sentences(model: _Model, text: str) -> list[str]:
        found = [s for s in model.sbd.sentences(text) if s.strip()] if model.sbd is not None else [text]
        out = []
        for sentence in found or [text]:
            out.extend(piece for piece in cap(sentence, MAX_SENTENCE_CHARS) if piece.strip())
        return out

    @staticmethod
    def _tokens(model: _Model, sentence: str) -> list[list[str]]:
        """The sentence's tokens, in pieces of at most MAX_INPUT_TOKENS (CJK text has more
        tokens per character than the character cap assumes)."""
        tokens = model.package.tokenizer.encode(sentence)
        if len(tokens) <= MAX_INPUT_TOKENS:
            return [tokens]
        chars = max(20, len(sentence) * MAX_INPUT_TOKENS // len(tokens) - 10)
        pieces = [p for p in cap(sentence, chars) if p.strip()]
        if len(pieces) <= 1:
            return [tokens[i:i + MAX_INPUT_TOKENS] for i in range(0, len(tokens), MAX_INPUT_TOKENS)]
        return [t for p in pieces for t in ArgosTranslator._tokens(model, p)]

    @staticmethod
    def _decode(model: _Model, pieces: list[str]) -> str:
        value = model.package.tokenizer.decode(pieces)
        prefix = model.package.target_prefix
        if prefix and value.startswith(prefix):
            value = value[len(prefix):]
        return value[1:] if value.startswith(" ") else value

    # ------------------------------------------------------------------ models

    def _model(self, source: str, target: str) -> _Model:
        info = self.store.get(source, target)
        if info is None:
            self._models.pop((source, target), None)
            raise missing_pair(source, target, {(p.source, p.target) for p in self.store.installed()})
        stamp = _stamp(info.path)
        model = self._models.get((source, target))
        if model is not None and model.stamp == stamp:
            return model
        with self._loading:
            model = self._models.get((source, target))
            if model is None or model.stamp != stamp:
                model = self._load(info, stamp)
                self._models[(source, target)] = model
            return model

    def _load(self, info: PackageInfo, stamp: tuple[int, int]) -> _Model:
        package_mod = argos_env.argos(self.store.root / "argos", self.store.packages_dir)
        argos_env.warn_if_telemetry_on()
        try:
            import ctranslate2
            from minisbd import SBDetect

            package = package_mod.Package(info.path)
            if not hasattr(package, "tokenizer"):
                raise ValueError("no tokenizer (sentencepiece.model or bpe.model)")
            package.tokenizer.encode("warm up")  # load it now, not lazily under concurrent use
            params: dict[str, Any] = {"device": "cpu", "inter_threads": 1, "intra_threads": self.intra_threads}
            if self.compute_type != "auto":
                params["compute_type"] = self.compute_type
            translator = ctranslate2.Translator(str(info.path / "model"), **params)
            onnx = sbd_model(info.path)
            sbd = SBDetect(str(onnx), use_gpu=False, max_threads=self.intra_threads) if onnx else None
        except Exception as err:  # damaged files fail in many ways; the operator reinstalls
            raise ModelFailed(None, source=info.source, target=info.target, package=info.name) from err
        return _Model(info=info, stamp=stamp, package=package, sbd=sbd, translator=translator,
                      lock=threading.Lock())

    def loaded(self) -> list[str]:
        """Pairs with a model in memory ("en-de"), for the admin page."""
        return sorted(f"{s}-{t}" for s, t in self._models)


def _stamp(folder: Path) -> tuple[int, int]:
    """Changes when the folder is replaced (install renames a new folder into place)."""
    st = folder.stat()
    return st.st_ino, st.st_mtime_ns
