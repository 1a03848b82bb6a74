"""HTML-safe snippets: the densest window of query terms, escaped, matches in <mark>.

The text of a hit is found with a cheap scan first (a regular expression of
the query terms' leading letters, in C), and only a window around the best
cluster is analysed with the language analyzer to decide exactly which words
match, so a 16,000-character excerpt costs about as much as a 300-character one.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from .analysis import TOKEN, cached_language_analyzer, fold, is_cjk, normalize

SNIPPET_CHARS = 240
_MAX_CANDIDATES = 400


def _probe(terms: Iterable[str], prefixes: Iterable[str]) -> re.Pattern | None:
    """A loose, case-insensitive pattern finding where matches may be.

    Stems are not always prefixes of their words (``happi`` / ``happy``), so
    the probe uses the first 3 letters (all of a shorter term); the analyzer
    then decides.
    """
    stems = set()
    for t in list(terms) + list(prefixes):
        if not t:
            continue
        stems.add(t[:2] if is_cjk(t) else t[:3])
    if not stems:
        return None
    alternatives = "|".join(re.escape(s) for s in sorted(stems, key=len, reverse=True))
    return re.compile(alternatives, re.IGNORECASE)


def _marked_spans(lang: str, text: str, terms: frozenset[str], prefixes: tuple[str, ...],
                  base: int = 0) -> list[tuple[int, int]]:
    """Character spans of ``text`` whose indexed form is a query term.

    Tokenizes like ``TextAnalyzer`` and maps words through its cached one-word
    analysis (every filter works word by word). Only words starting like a
    query term are analysed at all (stemmers change endings, not beginnings;
    Indonesian strips prefixes, so there every word is).
    """
    form_of = cached_language_analyzer(lang).form
    starts = {fold(t[:3]) for t in terms if not is_cjk(t)} | {fold(p[:3]) for p in prefixes}
    heads = {h for h in starts if len(h) == 3}
    short = tuple(h for h in starts if len(h) < 3)
    check = lang != "id"
    spans = []
    for m in TOKEN.finditer(text):
        if m.lastgroup == "word":
            word = m.group()
            if check:
                head = fold(normalize(word[:3]))
                if head not in heads and not (short and head.startswith(short)):
                    continue
            form = form_of(word)
            if form and (form in terms or (prefixes and form.startswith(prefixes))):
                spans.append((base + m.start(), base + m.end()))
            continue
        run, start = m.group(), m.start()
        for i in range(len(run)):
            at = base + start + i
            gram = run[i:i + 2]
            if len(gram) == 2 and (gram in terms or (prefixes and gram.startswith(prefixes))):
                spans.append((at, at + 2))
            elif run[i] in terms:
                spans.append((at, at + 1))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:  # CJK bigrams overlap: merge them
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _render(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    out = []
    pos = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(html.escape(text[pos:s], quote=False))
        out.append("<mark>" + html.escape(text[s:e], quote=False) + "</mark>")
        pos = e
    out.append(html.escape(text[pos:end], quote=False))
    return "".join(out)


def highlight_all(lang: str, text: str, terms: frozenset[str], prefixes: tuple[str, ...] = ()) -> str:
    """The whole (short) text, escaped, with every match marked (titles)."""
    if not text:
        return ""
    spans = _marked_spans(lang, text, terms, prefixes) if (terms or prefixes) else []
    return _render(text, spans, 0, len(text))


def _word_start(text: str, i: int) -> int:
    if i <= 0:
        return 0
    j = text.rfind(" ", max(0, i - 20), i)
    return j + 1 if j >= 0 else i


def _word_end(text: str, i: int) -> int:
    if i >= len(text):
        return len(text)
    j = text.find(" ", i, i + 20)
    return j if j >= 0 else i


def snippet(lang: str, text: str, terms: frozenset[str], prefixes: tuple[str, ...] = (),
            size: int = SNIPPET_CHARS) -> str:
    """The best ``size``-character window of ``text`` (escaped, matches in <mark>).

    Without any match: the start of the text, escaped.
    """
    text = " ".join(text.split()) if len(text) < 4 * size else text
    if not text:
        return ""
    probe = _probe(terms, prefixes)
    window = None
    if probe is not None:
        hits = [m.start() for _, m in zip(range(_MAX_CANDIDATES), probe.finditer(text))]
        if hits:
            # The start giving the most probe hits within ``size`` characters.
            best, best_count, k = hits[0], 0, 0
            for i, h in enumerate(hits):
                k = max(k, i)
                while k + 1 < len(hits) and hits[k + 1] < h + size * 2 // 3:
                    k += 1
                if k - i + 1 > best_count:
                    best, best_count = h, k - i + 1
            start = _word_start(text, max(0, best - size // 5))
            window = (start, min(len(text), start + size))
    if window is None:
        start, end = 0, min(len(text), size)
    else:
        start, end = window
    end = _word_end(text, end) if end < len(text) else end
    # Analyse a little more than the window so words cut at its edges still match.
    lo, hi = max(0, start - 30), min(len(text), end + 30)
    chunk = text[lo:hi]
    spans = _marked_spans(lang, chunk, terms, prefixes, base=lo) if (terms or prefixes) else []
    flat = text.replace("\n", " ").replace("\r", " ").replace("\t", " ")
    body = _render(flat, spans, start, end)
    return ("… " if start > 0 else "") + body.strip() + (" …" if end < len(text) else "")
