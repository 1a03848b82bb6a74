"""Translating a sentence whose words carry different formatting, keeping the formatting.

A paragraph arrives as spans: ``[("This is ", plain), ("very", bold), (" important", plain)]``
(DOCX run groups, Markdown emphasis and link text). Translating each span on its own
keeps the formatting exactly but gives the model fragments ("This is" / "very" /
"important") and the word order of the source. So, as Argos's own HTML support does:

1. translate the whole text ("Dies ist sehr wichtig") and, separately, the text of
   every span that is not in the paragraph's main style ("very" -> "sehr");
2. if each such translation occurs exactly once in the whole translation, without
   overlapping another, cut the whole translation there: the formatting moves with
   its words, even when the target language reorders them;
3. otherwise fall back to translating span by span (the formatting is kept, the
   fluency suffers), and say so in ``SpanMapping.fell_back``; except when a reviewer's
   correction (the batch's overrides) replaced the sentence: then the corrected
   sentence is kept whole in the paragraph's main style.

Both passes go through a :class:`~.engine.Batch`, so a whole document needs two
model rounds at most, and the second only for the paragraphs that fell back.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from kbportal.services.translation.engine import Batch, Pending


@dataclass
class SpanMapping:
    """One paragraph's spans on their way through a batch: :meth:`request` before
    ``batch.run()``, :meth:`resolve` after; resolve returns None while a fallback
    round is still needed (run the batch again, then resolve again)."""

    spans: list[tuple[str, Hashable]]
    _whole: Pending | None = None
    _parts: dict[int, Pending] = field(default_factory=dict)
    _fallback: dict[int, Pending] | None = None
    fell_back: bool = False

    def request(self, batch: Batch) -> None:
        styles = {style for text, style in self.spans if text.strip()}
        self._whole = batch.add("".join(text for text, _ in self.spans))
        if len(styles) > 1:
            main = _main_style(self.spans)
            for i, (text, style) in enumerate(self.spans):
                if style != main and text.strip():
                    self._parts[i] = batch.add(text.strip())

    def resolve(self, batch: Batch) -> list[tuple[str, Hashable]] | None:
        if self._fallback is not None:
            return [(_keep_space(text, item.value or ""), style) if (item := self._fallback.get(i)) else (text, style)
                    for i, (text, style) in enumerate(self.spans)]
        assert self._whole is not None and self._whole.value is not None, "run the batch first"
        whole = self._whole.value
        styles = {style for text, style in self.spans if text.strip()}
        if len(styles) <= 1:
            style = next(iter(styles)) if styles else self.spans[0][1]
            return [(whole, style)]
        placed = _place(whole, {i: _tidy(self.spans[i][0], p.value or "") for i, p in self._parts.items()})
        if placed is not None:
            main = _main_style(self.spans)
            out: list[tuple[str, Hashable]] = []
            pos = 0
            for start, end, i in placed:
                if start > pos:
                    out.append((whole[pos:start], main))
                out.append((whole[start:end], self.spans[i][1]))
                pos = end
            if pos < len(whole):
                out.append((whole[pos:], main))
            return _bridge(out, main)
        if batch.is_edited(self._whole):
            # A reviewer rewrote the sentence: their words win over the inline formatting
            # (span by span would bring the machine's words back).
            return [(whole, _main_style(self.spans))]
        self.fell_back = True
        self._fallback = {i: batch.add(text.strip()) for i, (text, _) in enumerate(self.spans) if text.strip()}
        return None


def _bridge(out: list[tuple[str, Hashable]], main: Hashable) -> list[tuple[str, Hashable]]:
    """Whitespace of the main style between two spans in one container (styles that are
    tuples with the same first element: one Markdown link, one DOCX hyperlink) joins
    them, so "[the **new** guide](u)" stays one link instead of three."""
    known = {style for _, style in out}
    bridged = list(out)
    for k in range(1, len(bridged) - 1):
        text, style = bridged[k]
        left, right = bridged[k - 1][1], bridged[k + 1][1]
        if (style == main and not text.strip() and isinstance(left, tuple) and isinstance(right, tuple)
                and left and right and left[0] == right[0] and left != main):
            common = 0
            while common < min(len(left), len(right)) and left[common] == right[common]:
                common += 1
            shared = left[:common]
            bridged[k] = (text, shared if shared in known else left)  # "[die **neu** anleitung]"
    return bridged


def _main_style(spans: Sequence[tuple[str, Hashable]]) -> Hashable:
    """The style covering most characters (ties: the first seen)."""
    weight: dict[Hashable, int] = {}
    for text, style in spans:
        weight[style] = weight.get(style, 0) + len(text.strip())
    return max(weight, key=lambda s: weight[s])


def _place(whole: str, parts: dict[int, str]) -> list[tuple[int, int, int]] | None:
    """Where each part's translation sits in ``whole``: sorted (start, end, span index), or
    None unless every one occurs exactly once and none overlap."""
    folded = whole.casefold()
    if len(folded) != len(whole):  # (rare letters whose case folding changes the length)
        folded = whole
    found = []
    for i, text in parts.items():
        if not text:
            return None
        # exact first; then ignoring case (a word alone is often capitalised: "Sehr")
        for haystack, needle in ((whole, text), (folded, text.casefold() if folded is not whole else text)):
            first = haystack.find(needle)
            if first >= 0:
                break
        if first < 0 or haystack.find(needle, first + 1) >= 0:
            return None
        found.append((first, first + len(needle), i))
    found.sort()
    for (_, end, _), (start, _, _) in zip(found, found[1:]):
        if start < end:
            return None
    return found


def _tidy(source: str, translated: str) -> str:
    """A span translated alone, without the sentence end a model adds to a fragment."""
    text = translated.strip()
    ends = ".!?\u3002\uff01\uff1f"
    while text and text[-1] in ends and not source.rstrip().endswith(text[-1]):
        text = text[:-1].rstrip()
    return text


def _keep_space(source: str, translated: str) -> str:
    """The translation with the source span's leading/trailing whitespace."""
    lead = source[: len(source) - len(source.lstrip())]
    trail = source[len(source.rstrip()):]
    return lead + translated.strip() + trail
