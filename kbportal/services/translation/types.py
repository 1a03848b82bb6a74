"""Values and errors of the translation interface (no Argos here).

A backend (``Translator``) turns lists of short texts into translations for a
language pair; everything above it (cache, segmentation, file formats) speaks
only these types.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from kbportal.services.errors import KbError

PIVOT = "en"  # pairs without a package of their own go through English
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")

# ``progress(done, total)``: long work calls it as it goes (a job maps it to a percentage).
Progress = Callable[[int, int], None]


def package_name(source: str, target: str) -> str:
    """The name operators know a package by ("translate-de_id"), as Argos names its files."""
    return f"translate-{source}_{target}"


@dataclass(frozen=True)
class LanguagePair:
    """A direction the installed packages can translate; ``via`` is the pivot language
    (``"en"``) when it takes two packages, else ``None``."""

    source: str
    target: str
    via: str | None = None

    @property
    def key(self) -> str:
        return f"{self.source}-{self.target}"


@dataclass(frozen=True)
class PackageInfo:
    """An installed (or inspected) .argosmodel package."""

    source: str
    target: str
    version: str
    source_name: str
    target_name: str
    path: Path  # installed folder (or the archive, for an inspected file)
    size_bytes: int

    @property
    def name(self) -> str:
        return package_name(self.source, self.target)


@dataclass(frozen=True)
class TranslationResult:
    """A translated text and what it cost: ``segments`` translatable segments, of which
    ``cached`` came from the segment cache (no model call)."""

    text: str
    source: str
    target: str
    segments: int
    cached: int
    via: str | None = None


@runtime_checkable
class Translator(Protocol):
    """A machine translation backend. ``translate`` gets short texts (sentences or a few of
    them) and returns one translation per text, in order; it raises :class:`PairMissing`
    when neither a package nor a pivot through English covers the pair."""

    name: str

    def pairs(self) -> list[LanguagePair]: ...

    def translate(self, texts: list[str], source: str, target: str) -> list[str]: ...


class PairMissing(KbError):
    """No package (nor pivot through English) for a pair; ``package`` names what to install."""

    code = "translation.pair_missing"

    def __init__(self, source: str, target: str, package: str) -> None:
        super().__init__(None, source=source, target=target, package=package)
        self.source, self.target, self.package = source, target, package


class PackageNotInstalled(KbError):
    """``remove`` of a pair that has no installed package."""

    code = "translation.not_installed"


class ModelFailed(KbError):
    """An installed package could not be loaded or run (damaged files): reinstall it."""

    code = "translation.model_failed"
    transient = False


def missing_pair(source: str, target: str, installed: set[tuple[str, str]]) -> PairMissing:
    """The error for an unreachable pair, naming the one package that would make it work:
    the missing half of the English pivot when the other half is installed, else the pair."""
    if source != PIVOT and target != PIVOT:
        if (source, PIVOT) in installed:
            return PairMissing(source, target, package_name(PIVOT, target))
        if (PIVOT, target) in installed:
            return PairMissing(source, target, package_name(source, PIVOT))
    return PairMissing(source, target, package_name(source, target))
