"""User query text -> Whoosh queries, once per language.

The text is parsed separately for every language present in the index, each
time against that language's ``text_<lang>`` field with that language's
analyzer, and the per-language queries are OR-ed. A document's text sits only
in its own language's field, so it is matched by the query analysed the way
its text was (stemming, stop words, bigrams): a German user's ``Anleitungen``
finds German documents, the same user's ``installation`` finds English ones,
and a stop word of one language never becomes a required term for another.

Syntax: AND / OR / NOT / ANDNOT (upper case), ``-word``, ``"phrase"``,
``"phrase"~2``, ``prefix*``, ``word~`` / ``word~2`` (fuzzy), parentheses,
``word^2``. Field syntax (``a:b``) is not offered: the colon is plain text.
Whatever the parser cannot make sense of is read as plain words; the parser
never raises to the caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

from whoosh import query as wq
from whoosh.qparser import AndGroup, OrGroup, QueryParser, plugins

from .analysis import cached_language_analyzer, fold, is_cjk, normalize
from .schema import build_schema, text_field, title_field
from .types import LANGUAGES, MAX_QUERY_CHARS

MAX_EXPANSIONS = 256  # terms a prefix / wildcard / fuzzy word expands to
MIN_PREFIX = 2
TITLE_BOOST = 1.5
USER_LANGUAGE_BOOST = 1.2
OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"})

_SCHEMA = build_schema()


class CappedPrefix(wq.Prefix):
    def _btexts(self, ixreader):
        return islice(super()._btexts(ixreader), MAX_EXPANSIONS)


class CappedWildcard(wq.Wildcard):
    def _btexts(self, ixreader):
        return islice(super()._btexts(ixreader), MAX_EXPANSIONS)


class CappedFuzzy(wq.FuzzyTerm):
    def _btexts(self, ixreader):
        return islice(super()._btexts(ixreader), MAX_EXPANSIONS)


def _make_parser(lang: str, relaxed: bool) -> QueryParser:
    group = OrGroup.factory(0.9) if relaxed else AndGroup
    parser = QueryParser(text_field(lang), _SCHEMA, group=group)
    for plugin_class in (plugins.FieldsPlugin, plugins.SingleQuotePlugin, plugins.RangePlugin,
                         plugins.EveryPlugin):
        parser.remove_plugin_class(plugin_class)
    parser.add_plugin(plugins.PlusMinusPlugin())
    parser.add_plugin(plugins.FuzzyTermPlugin())
    return parser


@lru_cache(maxsize=None)
def parser_for(lang: str, relaxed: bool) -> QueryParser:
    return _make_parser(lang, relaxed)


@dataclass(frozen=True)
class Highlight:
    """What to mark in a variant's text: analysed terms, and fuzzy/prefix leaves
    (expanded against the index when a hit needs them)."""

    terms: frozenset[str]
    multi: tuple[wq.Query, ...]


@dataclass(frozen=True)
class ParsedQuery:
    text: str
    match: dict[str, wq.Query]  # per language: what a document must match (no boosts)
    scored: wq.Query  # all languages, with title and user-language boosts
    highlight: dict[str, Highlight]
    relaxable: bool  # several required clauses: an OR reading can find more

    @property
    def empty(self) -> bool:
        return not self.match


# --------------------------------------------------------------------------- walking


def _positive_leaves(q: wq.Query) -> Iterator[wq.Query]:
    """Leaves that contribute to a match (not under NOT / the right of ANDNOT)."""
    if isinstance(q, wq.Not):
        return
    if isinstance(q, wq.AndNot):
        yield from _positive_leaves(q.a)
        return
    if isinstance(q, (wq.Term, wq.Phrase, wq.MultiTerm)):
        yield q
        return
    for child in q.children():
        yield from _positive_leaves(child)


def _required_clauses(q: wq.Query) -> int:
    if isinstance(q, wq.And):
        return sum(1 for c in q.subqueries if not isinstance(c, wq.Not))
    if isinstance(q, wq.Phrase):
        return len(q.words)
    return 1


def _fix(lang: str):
    """Rewrite parsed leaves: stemmed + raw prefixes, capped expansions, no leading wildcards."""
    analyzer = cached_language_analyzer(lang)

    def fn(q: wq.Query) -> wq.Query:
        if isinstance(q, wq.Prefix):
            raw = fold(normalize(q.text))
            if len(raw) < MIN_PREFIX:
                return wq.NullQuery
            forms = {raw}
            stemmed = [t.text for t in analyzer(raw, mode="query")]
            if len(stemmed) == 1 and len(stemmed[0]) >= MIN_PREFIX:
                forms.add(stemmed[0])
            subs = [CappedPrefix(q.fieldname, form, boost=q.boost) for form in sorted(forms)]
            return subs[0] if len(subs) == 1 else wq.Or(subs)
        if isinstance(q, wq.FuzzyTerm):
            if len(q.text) < 3:
                return wq.Term(q.fieldname, q.text, boost=q.boost)
            return CappedFuzzy(q.fieldname, q.text, boost=q.boost, maxdist=min(q.maxdist, 2),
                               prefixlength=max(q.prefixlength, 1))
        if isinstance(q, wq.Wildcard):
            stripped = q.text.lstrip("*?")
            if stripped != q.text or len(stripped.rstrip("*?")) < MIN_PREFIX:
                words = [t.text for t in analyzer(stripped.replace("*", " ").replace("?", " "), mode="query")]
                if not words:
                    return wq.NullQuery
                return wq.Term(q.fieldname, words[0]) if len(words) == 1 else wq.Phrase(q.fieldname, words)
            return CappedWildcard(q.fieldname, normalize(q.text), boost=q.boost)
        return q

    return fn


# --------------------------------------------------------------------------- parsing


def _plain(text: str) -> str:
    """Text without any syntax: words only (the fallback for malformed input)."""
    return " ".join(w for w in re.findall(r"\w+", text) if w not in OPERATORS)


def _parse_one(lang: str, text: str, relaxed: bool) -> wq.Query:
    parser = parser_for(lang, relaxed)
    try:
        q = parser.parse(text)
        q = q.accept(_fix(lang)).normalize()
        if _has_error(q):
            raise ValueError("unparseable")
    except Exception:  # noqa: BLE001 - malformed syntax degrades to plain words
        plain = _plain(text)
        try:
            q = parser.parse(plain).accept(_fix(lang)).normalize() if plain else wq.NullQuery
        except Exception:  # noqa: BLE001
            q = wq.NullQuery
    return q


def _has_error(q: wq.Query) -> bool:
    if getattr(q, "error", None):
        return True
    return any(_has_error(c) for c in q.children())


def _title_boost(lang: str, q: wq.Query) -> wq.Query | None:
    terms = sorted({leaf.text for leaf in _positive_leaves(q) if isinstance(leaf, wq.Term)})
    if not terms:
        return None
    field = title_field(lang)
    subs = [wq.Term(field, t, boost=TITLE_BOOST) for t in terms]
    return subs[0] if len(subs) == 1 else wq.Or(subs)


def _highlight(q: wq.Query) -> Highlight:
    terms: set[str] = set()
    multi: list[wq.Query] = []
    for leaf in _positive_leaves(q):
        if isinstance(leaf, wq.Term):
            terms.add(leaf.text)
        elif isinstance(leaf, wq.Phrase):
            terms.update(leaf.words)
        elif isinstance(leaf, wq.MultiTerm):
            multi.append(leaf)
    return Highlight(frozenset(terms), tuple(multi))


@lru_cache(maxsize=2048)
def parse(text: str, user_language: str = "en", languages: tuple[str, ...] = LANGUAGES,
          relaxed: bool = False) -> ParsedQuery:
    """Parse ``text`` for every language in ``languages`` (those present in the index)."""
    text = (text or "")[:MAX_QUERY_CHARS].strip()
    match: dict[str, wq.Query] = {}
    highlight: dict[str, Highlight] = {}
    scored: list[wq.Query] = []
    relaxable = False
    if text:
        for lang in languages:
            q = _parse_one(lang, text, relaxed)
            if q is wq.NullQuery or isinstance(q, wq.NullQuery.__class__):
                continue
            match[lang] = q
            highlight[lang] = _highlight(q)
            relaxable = relaxable or _required_clauses(q) > 1
            boosted = q
            title = _title_boost(lang, q)
            if title is not None:
                boosted = wq.AndMaybe(q, title)
            if lang == user_language:
                boosted = wq.Or([boosted], boost=USER_LANGUAGE_BOOST)
            scored.append(boosted)
    if not scored:
        combined: wq.Query = wq.NullQuery
    elif len(scored) == 1:
        combined = scored[0]
    else:
        combined = wq.Or(scored)
    return ParsedQuery(text=text, match=match, scored=combined, highlight=highlight,
                       relaxable=relaxable and not relaxed)


# --------------------------------------------------------------------------- spelling


_WORD = re.compile(r"\w+")


def spelling_words(text: str) -> list[tuple[int, int, str]]:
    """(start, end, lowercased word) of the words "did you mean" may correct."""
    out = []
    for m in _WORD.finditer(text):
        word = m.group()
        if word in OPERATORS or len(word) < 3 or not word.isalpha() or is_cjk(word):
            continue
        # Words glued to syntax (prefix*, fuzzy~, field-ish) are left alone.
        end = m.end()
        if end < len(text) and text[end] in "*?~^":
            continue
        out.append((m.start(), end, normalize(word)))
    return out
