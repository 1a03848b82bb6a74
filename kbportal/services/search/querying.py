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
from whoosh.analysis import RegexTokenizer
from whoosh.fields import TEXT, Schema
from whoosh.qparser import AndGroup, OrGroup, QueryParser, plugins

from .analysis import cached_language_analyzer, fold, is_cjk, normalize
from .schema import text_field
from .types import LANGUAGES, MAX_QUERY_CHARS

MAX_EXPANSIONS = 256  # terms a prefix / wildcard word expands to
MAX_FUZZY = 50  # terms a fuzzy word expands to
MIN_PREFIX = 2
USER_LANGUAGE_BOOST = 1.2
OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"})

class CappedPrefix(wq.Prefix):
    def _btexts(self, ixreader):
        return islice(super()._btexts(ixreader), MAX_EXPANSIONS)


class CappedWildcard(wq.Wildcard):
    def _btexts(self, ixreader):
        return islice(super()._btexts(ixreader), MAX_EXPANSIONS)


class CappedFuzzy(wq.FuzzyTerm):
    """At most ``MAX_FUZZY`` corrections, the most frequent ones (as Lucene's maxExpansions)."""

    def _btexts(self, ixreader):
        found = list(islice(super()._btexts(ixreader), MAX_EXPANSIONS * 4))
        if len(found) <= MAX_FUZZY:
            return found
        freq = ixreader.doc_frequency
        return sorted(found, key=lambda t: -freq(self.fieldname, t))[:MAX_FUZZY]


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
    scored: dict[str, wq.Query]  # per language: the same with the user-language boost
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


# --------------------------------------------------------------------------- parsing


def _plain(text: str) -> str:
    """Text without any syntax: words only (the fallback for malformed input)."""
    return " ".join(w for w in re.findall(r"\w+", text) if w not in OPERATORS)


_RAW_SCHEMA = Schema(raw=TEXT(analyzer=RegexTokenizer(r"\S+"), phrase=True))


@lru_cache(maxsize=None)
def raw_parser_for(relaxed: bool) -> QueryParser:
    """A parser that keeps the words as typed: the syntax tree is built once and
    then analysed per language (``_localize``), instead of parsed per language."""
    group = OrGroup.factory(0.9) if relaxed else AndGroup
    parser = QueryParser("raw", _RAW_SCHEMA, group=group)
    for plugin_class in (plugins.FieldsPlugin, plugins.SingleQuotePlugin, plugins.RangePlugin,
                         plugins.EveryPlugin):
        parser.remove_plugin_class(plugin_class)
    # "-word" / "+word" only at the start of a word: "e-mail" stays one word.
    parser.add_plugin(plugins.PlusMinusPlugin(plusexpr=r"(?<![^\s(])\+", minusexpr=r"(?<![^\s(])-"))
    parser.add_plugin(plugins.FuzzyTermPlugin())
    return parser


@lru_cache(maxsize=2048)
def _parse_raw(text: str, relaxed: bool) -> wq.Query:
    parser = raw_parser_for(relaxed)
    try:
        q = parser.parse(text)
        if _has_error(q):
            raise ValueError("unparseable")
    except Exception:  # noqa: BLE001 - malformed syntax degrades to plain words
        plain = _plain(text)
        try:
            q = parser.parse(plain) if plain else wq.NullQuery
        except Exception:  # noqa: BLE001
            q = wq.NullQuery
    return q


def _localize(raw: wq.Query, lang: str) -> wq.Query:
    """The raw syntax tree with every word analysed the ``lang`` way, on ``text_<lang>``."""
    analyzer = cached_language_analyzer(lang)
    field = text_field(lang)

    def tokens(text: str) -> list[str]:
        return [t.text for t in analyzer(text, mode="query")]

    def words_query(toks: list[str], boost: float, slop: int = 1) -> wq.Query:
        if not toks:
            return wq.NullQuery
        if len(toks) == 1:
            return wq.Term(field, toks[0], boost=boost)
        return wq.Phrase(field, toks, slop=slop, boost=boost)

    def fn(q: wq.Query) -> wq.Query:
        if isinstance(q, wq.FuzzyTerm):  # before Term: a FuzzyTerm is a Term
            toks = tokens(q.text)
            if len(toks) != 1 or len(toks[0]) < 3:
                return words_query(toks, q.boost)
            return CappedFuzzy(field, toks[0], boost=q.boost, maxdist=min(q.maxdist, 2),
                               prefixlength=max(q.prefixlength, 1))
        if isinstance(q, wq.Prefix):
            raw_text = fold(normalize(q.text))
            if len(raw_text) < MIN_PREFIX:
                return wq.NullQuery
            forms = {raw_text}
            stemmed = tokens(raw_text)
            if len(stemmed) == 1 and len(stemmed[0]) >= MIN_PREFIX:
                forms.add(stemmed[0])
            subs = [CappedPrefix(field, form, boost=q.boost) for form in sorted(forms)]
            return subs[0] if len(subs) == 1 else wq.Or(subs)
        if isinstance(q, wq.Wildcard):
            stripped = q.text.lstrip("*?")
            if stripped != q.text or len(stripped.rstrip("*?")) < MIN_PREFIX:
                return words_query(tokens(stripped.replace("*", " ").replace("?", " ")), q.boost)
            return CappedWildcard(field, fold(normalize(q.text)), boost=q.boost)
        if isinstance(q, wq.Term):
            return words_query(tokens(q.text), q.boost)
        if isinstance(q, wq.Phrase):
            return words_query([t for w in q.words for t in tokens(w)], q.boost, q.slop)
        if q.is_leaf():  # anything else the parser makes ("*" -> Every): no meaning here
            return wq.NullQuery
        return q

    try:
        return raw.accept(fn).normalize()
    except Exception:  # noqa: BLE001 - never raise to the caller
        return wq.NullQuery


def _parse_one(lang: str, text: str, relaxed: bool) -> wq.Query:
    return _localize(_parse_raw(text, relaxed), lang)


def _has_error(q: wq.Query) -> bool:
    if getattr(q, "error", None):
        return True
    return any(_has_error(c) for c in q.children())


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
    scored: dict[str, wq.Query] = {}
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
            if lang == user_language:
                boosted = wq.Or([boosted], boost=USER_LANGUAGE_BOOST)
            scored[lang] = boosted
    return ParsedQuery(text=text, match=match, scored=scored, highlight=highlight,
                       relaxable=relaxable and not relaxed)


def combine(queries: list[wq.Query]) -> wq.Query:
    """OR of per-language queries (a binary tree of union matchers at any index size)."""
    if not queries:
        return wq.NullQuery
    if len(queries) == 1:
        return queries[0]
    q = wq.Or(queries)
    q.matcher_type = wq.Or.DEFAULT_MATCHER
    return q


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
