"""Cutting text into segments: the unit that is translated and cached.

A segment is one sentence (or a slice of a very long one), without the whitespace
around it. :func:`segment` keeps everything between segments (spaces, newlines,
blank lines) verbatim, so a translation is put back exactly where its source was:

    parts = segment("Hello world. The house is small.\n\nBye!")
    parts.segments   -> ["Hello world.", "The house is small.", "Bye!"]
    parts.join(["Hallo welt.", "Das haus ist klein.", "Tschüss!"])
                     -> "Hallo welt. Das haus ist klein.\n\nTschüss!"

Splitting is deterministic and needs no model, so the cache can be consulted
before anything is loaded (and keeps working when a package is removed). It is
deliberately conservative: a missed boundary only makes a segment longer; the
backend splits again with the package's own sentence model before translating.
Segments longer than :data:`MAX_SEGMENT_CHARS` are cut at a clause or word
boundary, because the models stop after 256 output tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SEGMENT_CHARS = 400

# A sentence ends at . ! ? (or …) plus closing quotes/brackets, before whitespace; or at
# a CJK full stop / exclamation / question mark (no space needed).
_BOUNDARY = re.compile(r"""[.!?\u2026]+["'\u201d\u2019)\]]*(?=\s)"""
                       r"""|[\u3002\uff01\uff1f]+["'\u201d\u2019\u300d\u300f)\]]*""")
# Words after which a full stop does not end the sentence.
_ABBREVIATIONS = frozenset("""
    e.g i.e etc vs cf al approx ca dept est fig no nos nr p pp vol mr mrs ms dr prof sr jr st mt inc ltd co corp
    jan feb mar apr jun jul aug sep sept oct nov dec z.b u.a d.h bzw ggf usw inkl evtl vgl bspw s.o s.u
""".split())
_CLAUSE = re.compile(r"[,;:\u3001\uff0c\uff1b\uff1a]\s*")


@dataclass(frozen=True)
class Segmented:
    """A text as alternating ``gaps`` (kept verbatim) and ``segments`` (translated):
    ``gaps[0] + segments[0] + gaps[1] + ... + segments[-1] + gaps[-1]``."""

    gaps: tuple[str, ...]
    segments: tuple[str, ...]

    def join(self, translations: list[str] | tuple[str, ...]) -> str:
        assert len(translations) == len(self.segments)
        out = [self.gaps[0]]
        for text, gap in zip(translations, self.gaps[1:]):
            out.append(text)
            out.append(gap)
        return "".join(out)


def is_translatable(text: str) -> bool:
    """Only text with letters goes to a model ("42", "---", "•" stay as they are)."""
    return any(ch.isalpha() for ch in text)


def segment(text: str, max_chars: int = MAX_SEGMENT_CHARS) -> Segmented:
    """Split ``text`` into translatable segments and the verbatim gaps between them."""
    gaps: list[str] = []
    segments: list[str] = []
    pending_gap = ""
    for line, newline in _lines(text):
        for piece in _pieces(line, max_chars):
            core = piece.strip()
            lead = piece[: len(piece) - len(piece.lstrip())]
            trail = piece[len(piece.rstrip()):] if core else ""
            if not core or not is_translatable(core):
                pending_gap += piece
                continue
            gaps.append(pending_gap + lead)
            segments.append(core)
            pending_gap = trail
        pending_gap += newline
    gaps.append(pending_gap)
    return Segmented(tuple(gaps), tuple(segments))


def _lines(text: str) -> list[tuple[str, str]]:
    parts = re.split(r"(\r\n|\n|\r)", text)
    return [(parts[i], parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)]


def sentences(line: str) -> list[str]:
    """``line`` cut after each sentence end; ``"".join(result) == line``."""
    out, start = [], 0
    for match in _BOUNDARY.finditer(line):
        end = match.end()
        if match.group()[0] == "." and _is_abbreviation(line[start:match.start()]):
            continue
        rest = line[end:].lstrip()
        if match.group()[0] in ".!?\u2026" and rest and rest[0].islower():
            continue  # "e.g. this", "3.5 mm" - a lowercase start continues the sentence
        # keep the whitespace after the boundary with the sentence before it
        ws_end = end + (len(line[end:]) - len(line[end:].lstrip()))
        out.append(line[start:ws_end])
        start = ws_end
    if start < len(line):
        out.append(line[start:])
    return out


def _is_abbreviation(before: str) -> bool:
    word = before.rsplit(None, 1)[-1] if before.strip() else ""
    word = word.lstrip("(\"'\u201c\u2018[").lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _pieces(line: str, max_chars: int) -> list[str]:
    out = []
    for sentence in sentences(line):
        out.extend(cap(sentence, max_chars))
    return out


def cap(sentence: str, max_chars: int = MAX_SEGMENT_CHARS) -> list[str]:
    """``sentence`` in slices of at most ``max_chars``, cut after a clause mark or a space
    when there is one in the second half of the window; ``"".join(result) == sentence``."""
    out = []
    rest = sentence
    while len(rest) > max_chars:
        window = rest[:max_chars]
        cut = 0
        for match in _CLAUSE.finditer(window):
            cut = match.end()
        if cut < max_chars // 2:
            space = window.rfind(" ")
            cut = space + 1 if space >= max_chars // 2 else max_chars
        out.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        out.append(rest)
    return out
