"""The Whoosh implementation of the search index.

Layout on disk (``path`` is the index root the caller owns)::

    path/CURRENT            name of the live index directory (replaced atomically)
    path/ix-<stamp>/        a Whoosh index (+ SCHEMA: the schema version)

``rebuild()`` builds a new ``ix-*`` directory next to the live one and then
replaces ``CURRENT`` (``os.replace``): searches keep using the old directory
until the swap, and every process notices the swap on its next search.

How a search runs (all docnum sets are int bitmaps, see ``bits``; per-segment
sets are cached per segment id, so a new small segment only costs its own
documents, and index-wide sets are composed per searcher generation):

1. ``permitted`` = live documents & status & any access token, cached per
   access class per generation, minus documents expired at ``now`` (few have
   an expiry: a sorted list, its bitmap cached per number expired).
   ``match_nothing`` answers before touching the index; an empty set is never
   handed to Whoosh (Whoosh reads an empty filter as "no filter").
2. ``matches`` = the query evaluated as set algebra over cached posting sets
   (phrases verified from positions of the candidates only; prefix / wildcard /
   fuzzy words expanded per segment) within permitted & the date range, then &
   the filters. It gives the exact total, the facets and the "did you mean"
   check without scoring anything.
3. The ranked page: Whoosh BM25F over the languages that matched, with
   ``filter=matches`` (the access filter inside the query, before the limit).
   Up to ``FEW_MATCHES`` matches the query is also intersected with them, so
   only they are scored; a query of expanded words only ranks by recency.
   Variants of one object collapse (the best variant's score ranks the object;
   the shown variant is the user's language if it matched, else the source
   language, else the best); equal scores go newest first.
4. Snippets from the stored, compressed body excerpt (``highlight``).

Writes: ``apply`` commits once per call; batches under ``MERGE_BATCH`` entries
skip segment merging (visible in ~10 ms), ``compact()`` merges the small
segments when the indexer is idle, larger batches merge in size tiers.
``rebuild`` writes the whole index as one segment. Every writer collects its
postings per term (``speedups.TermPool``) and merges read segments mmapped;
``speedups`` says why and what stays the same (every byte of a segment).

One searcher per process, refreshed when the index changed (a directory
listing per search); one lock serialises searches (Python runs one thread at a
time anyway, and a Whoosh searcher is not meant to be shared concurrently);
another serialises writers in the process and Whoosh's lock file across
processes (a second writer waits up to ``WRITE_TIMEOUT``).
"""

from __future__ import annotations

import bisect
import heapq
import logging
import math
import os
import pickle
import shutil
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from itertools import accumulate
from dataclasses import dataclass, replace
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path

from whoosh import index as windex
from whoosh import query as wq
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import NO_MERGE
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import ListMatcher, NullMatcher, WrappingMatcher

from kbportal.services.access import IndexFilter

from . import bits as B
from . import speedups
from .analysis import is_cjk, prefix_analyzer
from .highlight import highlight_all, snippet
from .querying import CappedPrefix, Highlight, ParsedQuery, combine, parse, spelling_words
from .schema import (
    SCHEMA_VERSION,
    build_schema,
    entry_document,
    excerpt_text,
    from_micros,
    positions_field,
    to_micros,
)
from .types import (
    FACETS,
    LANGUAGES,
    IndexCorrupt,
    IndexMissing,
    IndexStats,
    SearchEntry,
    SearchHit,
    SearchIndexError,
    SearchQuery,
    SearchResult,
)

log = logging.getLogger(__name__)
speedups.apply()

CURRENT = "CURRENT"
SCHEMA_FILE = "SCHEMA"
WRITE_TIMEOUT = 60.0
MAX_PAGE_SIZE = 100
TERM_CACHE = 4096  # cached posting bitmaps per segment
VIEW_CACHE = 512  # cached query / filter results per generation
STATE_CACHE = 256
MERGE_BATCH = 100  # apply() merges segments for batches at least this large
MAX_SEGMENTS = 32  # ... or when more piled up (a guard: compact() when idle keeps them few)
FEW_DISTINCT = 5000  # up to this many matches, count objects without the per-generation map
FEW_MATCHES = 5000  # up to this many (or 5% of the index), rank only the exact matches
TAG_FACET_LIMIT = 50
_FACET_FIELDS = {"kind": "kind", "doc_type": "doc_type", "product": "product", "language": "language", "tags": "tags"}
_FILTER_ATTR = {"kind": "kinds", "doc_type": "doc_types", "product": "products", "language": "languages", "tags": "tags"}
# Errors reading a damaged index raises (struct/zlib/pickle errors, missing or short files).
_READ_ERRORS = (OSError, EOFError, ValueError, KeyError, IndexError, TypeError, AttributeError,
                windex.IndexError, Exception)


def _lru_get(cache: OrderedDict, key):
    value = cache.get(key)
    if value is not None:
        cache.move_to_end(key)
    return value


def _lru_put(cache: OrderedDict, key, value, limit: int):
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > limit:
        cache.popitem(last=False)
    return value


def _positions(value: bytes) -> frozenset[int]:
    """Decode a Whoosh ``Positions`` posting value (count + pickled deltas)."""
    if not value.endswith(b"."):
        value += b"."
    return frozenset(accumulate(pickle.loads(value[4:])))


def _posting_ids(reader, fieldname: str, btext: bytes) -> list[int]:
    """Every docnum of a posting list, deleted ones included (callers AND with
    the live set), read block by block instead of one ``next()`` at a time."""
    m = reader.postings(fieldname, btext)
    while isinstance(m, WrappingMatcher):
        m = m.child
    if not isinstance(m, W3LeafMatcher):
        return list(m.all_ids())
    ids: list[int] = []
    try:
        while m.is_active():
            if m._ids is None:
                m._read_ids()
            ids.extend(m._ids[m._i:])
            m._next_block()
    except AttributeError:  # a Whoosh release with other internals
        return list(reader.postings(fieldname, btext).all_ids())
    return ids


def sum_bits(values: Iterable[int]) -> int:
    out = 0
    for v in values:
        out |= v
    return out


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _bounds(value: date | datetime | None, end: bool) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_micros(value) + (1 if end else 0)  # inclusive end
    day = datetime.combine(value, dtime(0), tzinfo=timezone.utc)
    return to_micros(day + timedelta(days=1) if end else day)


# --------------------------------------------------------------------------- merge policies

MERGE_FANIN = 10
SMALL_SEGMENT = 1000


def _merge_storage(storage):
    """The storage merge readers read from: memory-mapped. Writers open the index
    without mmap (their key lookups read a little of many segments), but a merge
    reads whole segments, and unmapped every small read is a seek + read through
    a compound sub-file (merging took about twice as long)."""
    if getattr(storage, "supports_mmap", True) or not isinstance(storage, FileStorage):
        return storage
    return FileStorage(storage.folder, supports_mmap=True, readonly=True)


def _merge_into(writer, segments) -> None:
    from whoosh.reading import SegmentReader

    storage = _merge_storage(writer.storage)
    for segment in segments:
        reader = SegmentReader(storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()


def optimize_all(writer, segments):
    """Whoosh's ``OPTIMIZE`` policy (everything into one segment), reading mmapped."""
    _merge_into(writer, segments)
    return []


def tiered_merge(writer, segments):
    """Whoosh merge policy: segments sit in size tiers (powers of ``MERGE_FANIN``);
    when a tier holds ``MERGE_FANIN`` segments, it and every smaller tier merge
    into the segment being written. Each entry is rewritten about
    log10(index size / batch size) times (Whoosh's fibonacci policy rewrites far
    more often), and segments that are mostly deletions are rewritten to purge them.
    """
    def tier(segment) -> int:
        return int(math.log(max(1, segment.doc_count()), MERGE_FANIN))

    counts = Counter(tier(segment) for segment in segments)
    full = [t for t, n in counts.items() if n >= MERGE_FANIN]
    upto = max(full) if full else -1
    merge, keep = [], []
    for segment in segments:
        doomed = segment.doc_count_all() and segment.deleted_count() / segment.doc_count_all() > 0.3
        (merge if tier(segment) <= upto or doomed else keep).append(segment)
    if merge:
        _merge_into(writer, merge)
    return keep


def merge_small_segments(writer, segments):
    """Whoosh merge policy for idle-time compaction: the small segments (under
    ``SMALL_SEGMENT`` entries or a twentieth of the largest) merge into one."""
    if len(segments) < 2:
        return segments
    largest = max(segment.doc_count() for segment in segments)
    limit = max(SMALL_SEGMENT, largest / 20)
    small = [s for s in segments if s.doc_count() < limit]
    if len(small) < 2:
        return tiered_merge(writer, segments)
    _merge_into(writer, small)
    return [s for s in segments if s not in small]


# --------------------------------------------------------------------------- per-segment data


class _Segment:
    """Caches for one segment (its documents never change; deletions only grow)."""

    def __init__(self, segid: str, size: int):
        self.segid = segid
        self.size = size
        self.terms: OrderedDict = OrderedDict()
        self.lexicons: dict[str, list[str]] = {}
        self.ords: list[int] | None = None
        self.published: list[int] | None = None
        self.published_sorted: list[int] | None = None  # local docnums by publication time
        self.published_keys: list[int] | None = None
        self.published_steps: list[int] | None = None  # bitmap of the first k*STEP of published_sorted
        self.expiring: list[tuple[int, int]] | None = None  # (expires, local docnum), sorted

    STEP = 2048

    def term_bits(self, reader, fieldname: str, text: str) -> int:
        key = (fieldname, text)
        hit = _lru_get(self.terms, key)
        if hit is not None:
            return hit
        btext = text.encode("utf-8") if isinstance(text, str) else text
        if (fieldname, btext) in reader:
            value = B.from_ids(_posting_ids(reader, fieldname, btext), self.size)
        else:
            value = 0
        return _lru_put(self.terms, key, value, TERM_CACHE)

    def lexicon(self, reader, fieldname: str) -> list[str]:
        values = self.lexicons.get(fieldname)
        if values is None:
            values = [b.decode("utf-8") for b in reader.lexicon(fieldname)] if fieldname in reader.schema else []
            self.lexicons[fieldname] = values
        return values

    def load_columns(self, reader, ordinals: dict[bytes, int]) -> None:
        if self.ords is not None:
            return
        objs = list(reader.column_reader("obj", translate=False))
        ords = []
        for obj in objs:
            o = ordinals.get(obj)
            if o is None:
                o = ordinals[obj] = len(ordinals)
            ords.append(o)
        published = list(reader.column_reader("published", translate=False))
        expires = list(reader.column_reader("expires", translate=False))
        order = sorted(range(self.size), key=published.__getitem__)
        steps = [0]
        for k in range(self.STEP, self.size + 1, self.STEP):
            steps.append(steps[-1] | B.from_ids(order[k - self.STEP:k], self.size))
        self.published = published
        self.published_sorted = order
        self.published_keys = [published[d] for d in order]
        self.published_steps = steps
        self.expiring = sorted((e, d) for d, e in enumerate(expires) if e)
        self.ords = ords

    def published_below(self, ts: int) -> int:
        """Local bitmap of documents published before ``ts``."""
        k = bisect.bisect_left(self.published_keys, ts)
        step = k // self.STEP
        base = self.published_steps[step]
        rest = self.published_sorted[step * self.STEP:k]
        return base | B.from_ids(rest, self.size) if rest else base


@dataclass
class _Leaf:
    seg: _Segment
    offset: int
    searcher: object  # whoosh leaf searcher
    reader: object


@dataclass
class _State:
    """Everything about one (query, filters, access, generation) except the page."""

    parsed: ParsedQuery
    scored: wq.Query  # the ranking query for this generation
    languages: tuple[str, ...]  # languages with matching entries
    matches: int
    total: int
    facets: dict
    suggestion: str | None
    relaxed: bool


def _refreshed_searcher(ix, old_searcher):
    """A searcher on the index's latest state, reusing the old segment readers that
    did not change.

    Not ``Searcher.refresh()``: whoosh-reloaded's reader reuse appends the *old*
    segments to the new list and reuses readers with their old deletion sets, so
    a deleted or replaced entry would still be found. Here a reader is reused only
    when its segment id and deletion count are unchanged.
    """
    from whoosh.reading import EmptyReader, MultiReader, SegmentReader
    from whoosh.searching import Searcher

    info = ix._read_toc()
    old = {}
    for reader, _offset in old_searcher.reader().leaf_readers():
        segment = reader.segment()
        if segment is not None:
            old[(segment.segment_id(), segment.deleted_count())] = reader
    readers = []
    for segment in info.segments:
        reader = old.pop((segment.segment_id(), segment.deleted_count()), None)
        readers.append(reader if reader is not None
                       else SegmentReader(ix.storage, info.schema, segment, generation=info.generation))
    for reader in old.values():  # segments merged away or changed
        reader.close()
    if not readers:
        combined = EmptyReader(info.schema)
    elif len(readers) == 1:
        combined = readers[0]
    else:
        combined = MultiReader(readers, generation=info.generation)
    return Searcher(combined, fromindex=ix)


class _View:
    """One searcher generation and its caches."""

    def __init__(self, index: "SearchIndex", ix, searcher, segments: dict[str, _Segment]):
        self.index = index
        self.ix = ix
        self.searcher = searcher
        self.generation = ix.latest_generation()
        leaves = []
        for sub, offset in searcher.leaf_searchers():
            reader = sub.reader()
            segment = reader.segment()
            segid = segment.segment_id() if segment is not None else f"?{offset}"
            seg = segments.get(segid)
            if seg is None:
                seg = segments[segid] = _Segment(segid, reader.doc_count_all())
            leaves.append(_Leaf(seg, offset, sub, reader))
        self.leaves = leaves
        self.size = searcher.doc_count_all()
        live = 0
        for leaf in leaves:
            local = B.full(leaf.seg.size)
            if leaf.reader.has_deletions():
                local &= ~B.from_ids(leaf.reader._perdoc.deleted_docs(), leaf.seg.size)
            live |= local << leaf.offset
        self.live = live
        self.cache: OrderedDict = OrderedDict()
        self.states: OrderedDict = OrderedDict()
        self.languages = tuple(lang for lang in LANGUAGES if any(
            lang in leaf.seg.lexicon(leaf.reader, "language") for leaf in leaves))
        self._ords: list[int] | None = None
        self._multi: int | None = None
        self._published: list[int] | None = None
        self._expiring: list[tuple[int, int]] | None = None

    # -- composed sets

    def _cached(self, key, compute):
        hit = _lru_get(self.cache, key)
        if hit is not None:
            return hit
        return _lru_put(self.cache, key, compute(), VIEW_CACHE)

    def term(self, fieldname: str, text: str) -> int:
        def compute():
            out = 0
            for leaf in self.leaves:
                local = leaf.seg.term_bits(leaf.reader, fieldname, text)
                if local:
                    out |= local << leaf.offset
            return out

        return self._cached(("t", fieldname, text), compute)

    def any_of(self, fieldname: str, values: Iterable[str]) -> int:
        out = 0
        for value in values:
            out |= self.term(fieldname, value)
        return out

    def values(self, fieldname: str) -> list[str]:
        seen: set[str] = set()
        for leaf in self.leaves:
            seen.update(leaf.seg.lexicon(leaf.reader, fieldname))
        return sorted(seen)

    def _load_columns(self) -> None:
        if self._ords is not None:
            return
        ords: list[int] = []
        published: list[int] = []
        expiring: list[tuple[int, int]] = []
        for leaf in self.leaves:
            leaf.seg.load_columns(leaf.reader, self.index._ordinals)
            ords.extend(leaf.seg.ords)
            published.extend(leaf.seg.published)
            expiring.extend((e, d + leaf.offset) for e, d in leaf.seg.expiring)
        expiring.sort()
        self._published = published
        self._expiring = expiring
        self._ords = ords

    @property
    def ords(self) -> list[int]:
        self._load_columns()
        return self._ords

    @property
    def published(self) -> list[int]:
        self._load_columns()
        return self._published

    @property
    def multi(self) -> int:
        """Documents whose object has more than one entry (deleted ones included)."""
        if self._multi is None:
            ords = self.ords
            counts = Counter(ords)
            dups = {o for o, c in counts.items() if c > 1}
            self._multi = B.from_ids((d for d, o in enumerate(ords) if o in dups), self.size) if dups else 0
        return self._multi

    def expired(self, now_us: int) -> int:
        self._load_columns()
        k = bisect.bisect_right(self._expiring, (now_us, self.size))
        if k == 0:
            return 0
        return self._cached(("expired", k), lambda: B.from_ids((d for _, d in self._expiring[:k]), self.size))

    def published_between(self, lo: int | None, hi: int | None) -> int:
        def compute():
            self._load_columns()
            out = 0
            for leaf in self.leaves:
                seg = leaf.seg
                local = seg.published_below(hi) if hi is not None else B.full(seg.size)
                if lo is not None:
                    local &= ~seg.published_below(lo)
                out |= local << leaf.offset
            return out

        return self._cached(("published", lo, hi), compute)

    # -- access

    def permitted(self, access: IndexFilter) -> int:
        if access.match_nothing:
            return 0
        if access.unrestricted:
            return self.live

        def static():
            statuses = self.any_of("status", sorted(access.statuses))
            if not statuses:
                return 0
            return self.live & statuses & self.any_of("access", sorted(access.any_tokens))

        allowed = self._cached(("access",) + access.access_class, static)
        if allowed and access.now is not None:
            allowed &= ~self.expired(to_micros(access.now))
        return allowed

    # -- query evaluation (unscored)

    def query_bits(self, q: wq.Query, within: int | None = None) -> int:
        """Documents matching ``q`` among ``within`` (default: all live documents).

        AND narrows ``within`` clause by clause, so expensive leaves (phrases)
        only look at documents that can still match.
        """
        if within is None:
            within = self.live
        if not within:
            return 0
        if isinstance(q, wq.Term):
            return self.term(q.fieldname, q.text) & within
        if isinstance(q, wq.And):
            positives = [s for s in q.subqueries if not isinstance(s, wq.Not)]
            negatives = [s.query for s in q.subqueries if isinstance(s, wq.Not)]
            # Cheap leaves first: they narrow what the phrases must check.
            positives.sort(key=lambda s: isinstance(s, (wq.Phrase, wq.MultiTerm)) or not s.is_leaf())
            out = within
            for sub in positives:
                out = self.query_bits(sub, out)
                if not out:
                    return 0
            for sub in negatives:
                out &= ~self.query_bits(sub, out)
            return out
        if isinstance(q, wq.Or):
            out = 0
            for sub in q.subqueries:
                out |= self.query_bits(sub, within)
            return out
        if isinstance(q, wq.Not):
            return within & ~self.query_bits(q.query, within)
        if isinstance(q, wq.AndNot):
            positive = self.query_bits(q.a, within)
            return positive & ~self.query_bits(q.b, positive) if positive else 0
        if isinstance(q, wq.AndMaybe):
            return self.query_bits(q.a, within)
        if isinstance(q, wq.NullQuery.__class__):
            return 0
        if isinstance(q, wq.Every):
            return within
        if isinstance(q, wq.Phrase):
            return self._cached(("phrase", repr(q), within), lambda: self._phrase(q, within))
        if isinstance(q, wq.MultiTerm):
            return self.expansion(q)[0] & within
        return self._per_leaf(q) & within

    def _phrase(self, q: wq.Phrase, within: int) -> int:
        """Documents with the words at consecutive positions (``slop``: at most that far apart).

        Candidates come from the cached term sets; only they have their
        positions read (Whoosh's own span matcher is far slower).
        """
        candidates = within
        for word in q.words:
            candidates &= self.term(q.fieldname, word)
            if not candidates:
                return 0
        if len(q.words) == 1:
            return candidates
        slop = max(1, int(q.slop or 1))
        words = q.words
        out = 0
        for leaf in self.leaves:
            local = (candidates >> leaf.offset) & B.full(leaf.seg.size)
            if not local:
                continue
            field = positions_field(q.fieldname)
            matchers = {w: leaf.reader.postings(field, w.encode("utf-8")) for w in dict.fromkeys(words)}
            found = []
            for docnum in B.to_ids(local):
                seen: dict[str, frozenset[int]] = {}
                ends = None
                for i, word in enumerate(words):
                    here = seen.get(word)
                    if here is None:
                        m = matchers[word]
                        if m.id() < docnum:
                            m.skip_to(docnum)
                        here = seen[word] = _positions(m.value())
                    if i == 0:
                        ends = here
                    elif slop == 1:
                        ends = {p for p in here if p - 1 in ends}
                    else:
                        ends = {p for p in here if any(p - k in ends for k in range(1, slop + 1))}
                    if not ends:
                        break
                if ends:
                    found.append(docnum)
            if found:
                out |= B.from_ids(found, leaf.seg.size) << leaf.offset
        return out

    def _per_leaf(self, q: wq.Query) -> int:
        def compute():
            out = 0
            for leaf in self.leaves:
                ids = q.matcher(leaf.searcher, leaf.searcher.boolean_context()).all_ids()
                out |= B.from_ids(ids, leaf.seg.size) << leaf.offset
            return out

        return self._cached(("q", repr(q)), compute)

    def expansion(self, q: wq.MultiTerm) -> tuple[int, frozenset[str]]:
        """(documents, terms) a prefix / wildcard / fuzzy word expands to, cached."""
        def compute():
            out = 0
            terms: set[str] = set()
            fieldname = q.field()
            for leaf in self.leaves:
                local = 0
                for btext in q._btexts(leaf.reader):
                    text = _text(btext)
                    terms.add(text)
                    local |= leaf.seg.term_bits(leaf.reader, fieldname, text)
                out |= local << leaf.offset
            return out, frozenset(terms)

        return self._cached(("expand", repr(q)), compute)

    def scoring_query(self, q: wq.Query, matches: int) -> wq.Query:
        """``q`` for ranking only, the exact ``matches`` being known.

        Phrases score as their words, expanded words as a constant per document.
        When the matches are few, the query is intersected with them, so Whoosh
        scores just those documents instead of walking every posting list of the
        query's words (the block-quality shortcuts pay off only for many matches).
        """
        def fn(node: wq.Query) -> wq.Query:
            if isinstance(node, wq.Phrase):
                terms = [wq.Term(node.fieldname, w) for w in dict.fromkeys(node.words)]
                return terms[0] if len(terms) == 1 else wq.And(terms, boost=node.boost)
            if isinstance(node, wq.MultiTerm):
                return _DocSetQuery(self, self.expansion(node)[0], node.boost)
            return node

        scored = q.accept(fn)
        if B.count(matches) <= max(FEW_MATCHES, self.size // 20):
            scored = wq.And([_DocSetQuery(self, matches, 0.0, ranked=False), scored])
        return scored

    def local_ids(self, bits: int, reader) -> list[int]:
        for leaf in self.leaves:
            if leaf.reader is reader:
                return B.to_ids((bits >> leaf.offset) & B.full(leaf.seg.size))
        return []

    # -- objects

    def distinct_objects(self, docs: int) -> int:
        """Representative docs: one per object (the lowest docnum) among ``docs``.

        Few documents: deduplicated directly. Many: only those whose object has
        several entries (``multi``, computed once per generation) need a look.
        """
        if self._multi is None and B.count(docs) <= FEW_DISTINCT:
            multi = docs
        else:
            multi = docs & self.multi
        if not multi:
            return docs
        ords = self.ords
        seen: set[int] = set()
        keep = []
        for d in B.to_ids(multi):
            o = ords[d]
            if o not in seen:
                seen.add(o)
                keep.append(d)
        return (docs & ~multi) | B.from_ids(keep, self.size)

    def lookup(self, key: str) -> int | None:
        """Live docnum of the entry with this key."""
        btext = key.encode("utf-8")
        for leaf in self.leaves:
            reader = leaf.reader
            if ("key", btext) in reader:
                for local in reader.postings("key", btext).all_ids():  # deleted ones are skipped
                    return local + leaf.offset
        return None


class _ConstantMatcher(ListMatcher):
    """Sorted docnums, each scoring ``score`` (one block: quality = score)."""

    def __init__(self, ids: list[int], score: float):
        super().__init__(ids, all_weights=score)
        self._score = score

    def copy(self):
        m = type(self)(self._ids, self._score)
        m._i = self._i
        return m

    def skip_to(self, id):
        if self._i < len(self._ids) and self._ids[self._i] < id:
            self._i = bisect.bisect_left(self._ids, id, self._i)

    def replace(self, minquality=0):
        if not self.is_active() or (minquality and self._score <= minquality):
            return NullMatcher()
        return self

    def supports_block_quality(self):
        return True

    def max_quality(self):
        return self._score

    def block_quality(self):
        return self._score

    def skip_to_quality(self, minquality):
        if self._score <= minquality and self.is_active():
            self._i = len(self._ids)
            return 1
        return 0

    def score(self):
        return self._score

    def weight(self):
        return self._score


class _FilterMatcher(_ConstantMatcher):
    """Sorted docnums to intersect with (score 0, no quality shortcuts)."""

    def __init__(self, ids: list[int], score: float = 0.0):
        super().__init__(ids, 0.0)

    def replace(self, minquality=0):
        return self if self.is_active() else NullMatcher()

    def supports_block_quality(self):
        return False


class _DocSetQuery(wq.Query):
    """A precomputed document set as a query leaf: with a constant score
    (``ranked``), or as a pure filter to intersect with."""

    def __init__(self, view: "_View", bits: int, boost: float = 1.0, ranked: bool = True):
        self.view = view
        self.bits = bits
        self.boost = boost
        self.ranked = ranked

    def __repr__(self):
        return f"_DocSetQuery({B.count(self.bits)} docs, boost={self.boost})"

    def __eq__(self, other):
        return type(other) is type(self) and other.bits == self.bits and other.boost == self.boost

    def __hash__(self):
        return hash((self.bits, self.boost))

    def is_leaf(self):
        return True

    def estimate_size(self, ixreader):
        return B.count(self.bits)

    def matcher(self, searcher, context=None):
        ids = self.view.local_ids(self.bits, searcher.reader())
        if not ids:
            return NullMatcher()
        return _ConstantMatcher(ids, float(self.boost)) if self.ranked else _FilterMatcher(ids)


# --------------------------------------------------------------------------- the index


class SearchIndex:
    """A Whoosh index at ``path`` (see the module docstring for the layout).

    Use ``open_or_create`` in services: it never raises; check ``healthy`` and
    call ``rebuild`` when it is False. ``search``/``suggest`` never raise on a
    damaged index either: they answer ``degraded`` / empty results.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.schema = build_schema()
        self.problem = ""
        self._search_lock = threading.RLock()
        self._write_lock = threading.RLock()
        self._view: _View | None = None
        self._ix = None
        self._ix_dir: str | None = None
        self._pointer_stamp: tuple | None = None
        self._segments: dict[str, _Segment] = {}
        self._ordinals: dict[bytes, int] = {}
        self._pending: list | None = None  # ops recorded while a rebuild runs
        # Writers' key lookups: one reader per (index folder, segment id), kept across commits
        # (a segment's terms never change; see ``_live_docnums``).
        self._key_readers: dict[tuple[str, str], object] = {}

    # -- opening

    @classmethod
    def open(cls, path: str | os.PathLike) -> "SearchIndex":
        """Open an existing index; raises ``IndexMissing`` / ``IndexCorrupt``."""
        index = cls(path)
        index._open_current(strict=True)
        return index

    @classmethod
    def create(cls, path: str | os.PathLike) -> "SearchIndex":
        """A new, empty index at ``path`` (replacing whatever the pointer named)."""
        index = cls(path)
        index.rebuild([])
        return index

    @classmethod
    def open_or_create(cls, path: str | os.PathLike) -> "SearchIndex":
        """Open the index; never raises.

        A missing index is created empty and a damaged one left in place; in
        both cases ``healthy`` is False and ``problem`` says why, so the caller
        can run ``rebuild`` (the database is the source of truth).
        """
        index = cls(path)
        try:
            index._open_current(strict=True)
        except IndexMissing as exc:
            try:
                index.rebuild([])
            except Exception as create_exc:  # noqa: BLE001
                index.problem = f"cannot create index: {create_exc}"
            else:
                index.problem = f"missing: {exc}"
        except SearchIndexError as exc:
            index.problem = str(exc)
        return index

    @property
    def healthy(self) -> bool:
        return not self.problem

    def _read_pointer(self) -> str:
        pointer = self.path / CURRENT
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise IndexMissing(f"no index at {self.path}") from None
        except OSError as exc:
            raise IndexCorrupt(f"cannot read {pointer}: {exc}") from exc
        if not name or "/" in name or name.startswith("."):
            raise IndexCorrupt(f"bad pointer in {pointer}: {name!r}")
        return name

    def _pointer_changed(self) -> bool:
        try:
            st = os.stat(self.path / CURRENT)
        except OSError:
            return self._pointer_stamp is not None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        return stamp != self._pointer_stamp

    def _open_current(self, strict: bool) -> None:
        """(Re)open the directory CURRENT names; on failure set ``problem``."""
        try:
            st = os.stat(self.path / CURRENT)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        try:
            name = self._read_pointer()
            ix = self._open_dir(self.path / name)
            searcher = ix.searcher()
            view = _View(self, ix, searcher, {})
        except SearchIndexError as exc:
            self._pointer_stamp = stamp
            self._drop_view()
            self.problem = str(exc)
            if strict:
                raise
            return
        except _READ_ERRORS as exc:
            self._pointer_stamp = stamp
            self._drop_view()
            self.problem = f"corrupt: {type(exc).__name__}: {exc}"
            if strict:
                raise IndexCorrupt(self.problem) from exc
            return
        self._drop_view()
        self._segments = {}
        self._ix, self._ix_dir, self._pointer_stamp = ix, name, stamp
        self._view = view
        self._segments = {leaf.seg.segid: leaf.seg for leaf in view.leaves}
        self.problem = ""

    def _open_dir(self, directory: Path, mmap: bool = True):
        if not directory.is_dir():
            raise IndexMissing(f"index directory {directory} is missing")
        try:
            version = int((directory / SCHEMA_FILE).read_text().strip())
        except (OSError, ValueError):
            raise IndexCorrupt(f"{directory / SCHEMA_FILE} is missing or unreadable") from None
        if version != SCHEMA_VERSION:
            raise IndexCorrupt(f"index schema {version} differs from the code's {SCHEMA_VERSION}: rebuild")
        # Writers open readers only to find the entries they replace: without mmap,
        # Whoosh reads those lazily instead of copying every segment's term file.
        storage = FileStorage(str(directory), supports_mmap=mmap)
        if not windex.exists(storage):
            raise IndexCorrupt(f"no Whoosh index in {directory}")
        try:
            return storage.open_index(schema=self.schema)
        except _READ_ERRORS as exc:
            raise IndexCorrupt(f"corrupt: {type(exc).__name__}: {exc}") from exc

    def _drop_view(self) -> None:
        view, self._view = self._view, None
        if view is not None:
            try:
                view.searcher.close()
            except Exception:  # noqa: BLE001
                pass
        self._ix = None

    def _current_view(self) -> _View | None:
        """The view for the latest index state (reopened/refreshed as needed)."""
        if self._pointer_changed() or self._view is None:
            self._open_current(strict=False)
            return self._view
        view = self._view
        try:
            if view.searcher.up_to_date():
                return view
            if view.size:
                searcher = _refreshed_searcher(view.ix, view.searcher)
            else:  # Whoosh cannot refresh a searcher opened on an empty index
                searcher = view.ix.searcher()
                view.searcher.close()
            new = _View(self, view.ix, searcher, self._segments)
        except _READ_ERRORS as exc:
            log.warning("search index refresh failed, reopening: %s", exc, exc_info=True)
            self._open_current(strict=False)
            return self._view
        alive = {leaf.seg.segid for leaf in new.leaves}
        for segid in list(self._segments):
            if segid not in alive:
                del self._segments[segid]
        self._view = new
        return new

    def close(self) -> None:
        with self._search_lock:
            self._drop_view()

    # -- writing

    def apply(self, upserts: Sequence[SearchEntry], deletes: Sequence[str] = (), merge: bool | None = None) -> None:
        """Add/replace ``upserts`` (by key) and remove ``deletes`` (keys), one commit.

        A key in both is deleted (the safe reading of "changed, then removed").
        Raises on failure (the caller's job retries); the next search sees the change.

        Merging segments costs ~5 ms per merged document, so small batches skip it
        (``merge=None``: only batches of ``MERGE_BATCH`` entries, or when more than
        ``MAX_SEGMENTS`` segments piled up): call ``compact()`` when the outbox is
        drained, and ``optimize()`` in quiet hours.
        """
        docs = [entry_document(e) for e in upserts]
        delete_keys = list(dict.fromkeys(deletes))
        with self._write_lock:
            rebuilding = self._pending is not None
            if rebuilding:
                self._pending.append((docs, delete_keys))
            try:
                ix = self._open_dir(self.path / self._read_pointer(), mmap=False)
                self._write(ix, docs, delete_keys, merge)
            except SearchIndexError:
                if not rebuilding:  # the rebuild replays it into the new index
                    raise

    def _write(self, ix, docs: list[dict], delete_keys: list[str], merge: bool | None = None,
               policy=None) -> None:
        doomed = set(delete_keys)
        if merge is None:
            merge = len(docs) + len(delete_keys) >= MERGE_BATCH or len(ix._segments()) > MAX_SEGMENTS
        writer = ix.writer(timeout=WRITE_TIMEOUT, limitmb=128)
        speedups.use_term_pool(writer, 128)
        try:
            keys = [doc["key"] for doc in docs] + delete_keys
            for docnum in self._live_docnums(ix, writer.segments, keys):  # replaced or removed
                writer.delete_document(docnum)
            for doc in docs:
                if doc["key"] not in doomed:
                    writer.add_document(**doc)
            writer.commit(mergetype=(policy or tiered_merge) if merge else NO_MERGE)
        except BaseException:
            writer.cancel()
            raise

    def _live_docnums(self, ix, segments, keys: list[str]) -> list[int]:
        """Index-wide docnums (the writer's numbering) of the entries with these keys.

        What Whoosh's ``update_document``/``delete_by_term`` do, without opening a reader
        on every segment at every commit (that grew with the segment count and was most
        of the cost of a one-entry commit). Readers are cached per segment id: a segment's
        terms never change, only its deletions, and deleting an already deleted document
        again is harmless, so a reader with older deletions is still right.
        """
        from whoosh.reading import SegmentReader

        if not keys or not segments:
            return []
        folder = str(getattr(ix.storage, "folder", id(ix.storage)))
        wanted = [k.encode("utf-8") for k in dict.fromkeys(keys)]
        current = {(folder, segment.segment_id()) for segment in segments}
        for cached in [c for c in self._key_readers if c[0] == folder and c not in current]:
            self._key_readers.pop(cached).close()
        found: list[int] = []
        offset = 0
        for segment in segments:
            cache_key = (folder, segment.segment_id())
            reader = self._key_readers.get(cache_key)
            if reader is None:
                reader = self._key_readers[cache_key] = SegmentReader(ix.storage, ix.schema, segment)
            for btext in wanted:
                if ("key", btext) in reader:
                    found.extend(offset + local for local in _posting_ids(reader, "key", btext))
            offset += segment.doc_count_all()
        return found

    def compact(self) -> int:
        """Merge the small segments (what ``apply`` skips for small batches) into
        one; returns the number of segments left. Cheap when there is nothing to merge."""
        with self._write_lock:
            ix = self._open_dir(self.path / self._read_pointer(), mmap=False)
            if len(ix._segments()) > 1:
                self._write(ix, [], [], merge=True, policy=merge_small_segments)
            return len(ix._segments())

    def optimize(self) -> None:
        """Merge everything into one segment (slow on a large index: quiet hours)."""
        with self._write_lock:
            ix = self._open_dir(self.path / self._read_pointer(), mmap=False)
            self._write(ix, [], [], merge=True, policy=optimize_all)

    def rebuild(self, entries: Iterable[SearchEntry], progress: Callable[[int], None] | None = None) -> int:
        """Build a fresh index from ``entries`` next to the live one, then swap.

        Searches keep answering from the old index meanwhile. ``apply`` calls
        made in this process during the rebuild go to both indexes (they are
        replayed into the new one before the swap); another process's writes
        during a rebuild are not: run rebuilds in the indexer (the one writer).
        Returns the number of entries indexed.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        building = self.path / f"build-{stamp}"
        name = f"ix-{stamp}"
        building.mkdir()
        with self._write_lock:
            self._pending = []
        count = 0
        try:
            ix = FileStorage(str(building)).create_index(self.schema)
            writer = ix.writer(limitmb=256)
            speedups.use_term_pool(writer, 256)
            try:
                for entry in entries:
                    writer.add_document(**entry_document(entry))
                    count += 1
                    if progress is not None and count % 500 == 0:
                        progress(count)
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
            (building / SCHEMA_FILE).write_text(f"{SCHEMA_VERSION}\n")
            while True:
                with self._write_lock:
                    pending, self._pending = self._pending, []
                    if not pending:
                        try:
                            previous = self._read_pointer()
                        except SearchIndexError:
                            previous = None
                        os.rename(building, self.path / name)
                        self._swap(name)
                        self._pending = None
                        break
                for docs, deletes in pending:  # applied meanwhile: replay, outside the lock
                    self._write(ix, docs, deletes)
        except BaseException:
            with self._write_lock:
                self._pending = None
            shutil.rmtree(building, ignore_errors=True)
            raise
        if progress is not None:
            progress(count)
        with self._search_lock:
            self._open_current(strict=False)
        self._remove_old(keep={name, previous} - {None})
        return count

    def _swap(self, name: str) -> None:
        tmp = self.path / f".{CURRENT}.{uuid.uuid4().hex[:8]}"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path / CURRENT)
        try:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            pass

    def _remove_old(self, keep: set[str]) -> None:
        """Delete index directories but ``keep`` (the live one and the one it replaced:
        another process may still be reading that until its next search), and
        build directories of crashed rebuilds older than a day."""
        for directory in self.path.glob("ix-*"):
            if directory.name not in keep and directory.is_dir():
                shutil.rmtree(directory, ignore_errors=True)
        day_ago = time.time() - 86_400
        for directory in self.path.glob("build-*"):
            try:
                if directory.stat().st_mtime < day_ago:
                    shutil.rmtree(directory, ignore_errors=True)
            except OSError:
                pass
        for stray in self.path.glob(f".{CURRENT}.*"):
            stray.unlink(missing_ok=True)

    # -- health

    def stats(self) -> IndexStats:
        with self._search_lock:
            view = self._safe_view()
            directory = self.path / self._ix_dir if self._ix_dir else None
            size = 0
            last = None
            if directory is not None and directory.is_dir():
                for p in directory.iterdir():
                    try:
                        st = p.stat()
                    except OSError:
                        continue
                    size += st.st_size
                    if p.name.endswith(".toc"):
                        mtime = datetime.fromtimestamp(st.st_mtime, tz=timezone.utc)
                        last = mtime if last is None or mtime > last else last
            return IndexStats(
                doc_count=B.count(view.live) if view else 0,
                size_bytes=size,
                last_modified=last,
                generation=view.generation if view else -1,
                segments=len(view.leaves) if view else 0,
                healthy=self.healthy,
                problem=self.problem,
                path=str(directory or self.path),
            )

    def check(self, deep: bool = False) -> IndexStats:
        """Read the index; raise ``IndexMissing``/``IndexCorrupt`` if it cannot be used.

        The quick check opens every segment and reads its first and last stored
        documents, columns and a term of each field; ``deep`` reads every
        posting list too (minutes on a large index: for ``kbportal doctor``).
        """
        name = self._read_pointer()
        ix = self._open_dir(self.path / name)
        try:
            with ix.searcher() as searcher:
                for sub, _ in searcher.leaf_searchers():
                    reader = sub.reader()
                    n = reader.doc_count_all()
                    for docnum in {0, n - 1} if n else ():
                        reader.stored_fields(docnum)
                    for column in ("obj", "published", "expires"):
                        values = list(reader.column_reader(column, translate=False))
                        if len(values) != n:
                            raise IndexCorrupt(f"column {column} has {len(values)} values for {n} documents")
                    for fieldname in reader.indexed_field_names():
                        for i, (btext, _info) in enumerate(reader.iter_field(fieldname)):
                            list(reader.postings(fieldname, btext).all_ids())
                            if not deep and i >= 2:
                                break
        except SearchIndexError:
            raise
        except _READ_ERRORS as exc:
            raise IndexCorrupt(f"corrupt: {type(exc).__name__}: {exc}") from exc
        return self.stats()

    def _safe_view(self) -> _View | None:
        try:
            return self._current_view()
        except _READ_ERRORS as exc:
            self.problem = f"corrupt: {type(exc).__name__}: {exc}"
            self._drop_view()
            return None

    # -- searching

    def search(self, query: SearchQuery, access: IndexFilter) -> SearchResult:
        """One page of hits the principal behind ``access`` may see. Never raises
        on a damaged index (``degraded=True``)."""
        page_size = max(1, min(int(query.page_size or 10), MAX_PAGE_SIZE))
        page = max(1, int(query.page or 1))
        if access.match_nothing:
            return SearchResult(page=page)
        # Filters may come as lists or sets: frozensets (hashable cache keys).
        query = replace(query, text=str(query.text or ""), language=str(query.language or "en"),
                        **{attr: frozenset(str(v) for v in (getattr(query, attr) or ()))
                           for attr in _FILTER_ATTR.values()})
        with self._search_lock:
            for attempt in (1, 2):
                view = self._safe_view()
                if view is None:
                    return SearchResult(page=page, degraded=True)
                try:
                    return self._search(view, query, access, page, page_size)
                except _READ_ERRORS as exc:
                    if attempt == 2:
                        log.exception("search failed on the index at %s", self.path)
                        self.problem = f"search failed: {type(exc).__name__}: {exc}"
                        return SearchResult(page=page, degraded=True)
                    self._drop_view()  # files may have changed under us: reopen once
        return SearchResult(page=page, degraded=True)  # pragma: no cover

    def _filter_sets(self, view: _View, query: SearchQuery) -> dict[str, int]:
        out = {}
        for name, attr in _FILTER_ATTR.items():
            values = getattr(query, attr)
            if values:
                out[name] = view.any_of(_FACET_FIELDS[name], sorted(values))
        return out

    def _state(self, view: _View, query: SearchQuery, access: IndexFilter) -> _State:
        languages = view.languages
        key = (query.text, query.language, query.kinds, query.doc_types, query.products, query.languages,
               query.tags, query.date_from, query.date_to, query.with_facets, access.access_class,
               B.count(view.expired(to_micros(access.now))) if access.now and not access.unrestricted else 0)
        hit = _lru_get(view.states, key)
        if hit is not None:
            return hit
        permitted = view.permitted(access)
        lo, hi = _bounds(query.date_from, False), _bounds(query.date_to, True)
        if lo is not None or hi is not None:
            permitted &= view.published_between(lo, hi)
        filters = self._filter_sets(view, query)
        parsed = parse(query.text, query.language, languages)
        relaxed = False
        suggestion = None
        by_language = {} if parsed.empty else self._match_by_language(view, parsed, permitted)
        matched_all = sum_bits(by_language.values())
        strict = matched_all
        for bits_ in filters.values():
            strict &= bits_
        if not strict and not parsed.empty:
            suggestion = self._suggest_correction(view, query, permitted, filters)
            if parsed.relaxable:
                loose = parse(query.text, query.language, languages, relaxed=True)
                loose_by_language = self._match_by_language(view, loose, permitted)
                loose_all = sum_bits(loose_by_language.values())
                loose_strict = loose_all
                for bits_ in filters.values():
                    loose_strict &= bits_
                if loose_strict:
                    parsed, matched_all, strict, relaxed = loose, loose_all, loose_strict, True
                    by_language = loose_by_language
        total = B.count(view.distinct_objects(strict)) if strict else 0
        facets = self._facets(view, query, matched_all, filters) if query.with_facets else {}
        scored = wq.NullQuery
        languages_hit = [lang for lang, bits_ in by_language.items() if bits_ & strict]
        if strict:
            scored = view.scoring_query(combine([parsed.scored[lang] for lang in languages_hit]), strict)
        state = _State(parsed=parsed, scored=scored, languages=tuple(languages_hit),
                       matches=strict, total=total, facets=facets,
                       suggestion=suggestion, relaxed=relaxed)
        return _lru_put(view.states, key, state, STATE_CACHE)

    def _match(self, view: _View, parsed: ParsedQuery, within: int) -> int:
        return sum_bits(self._match_by_language(view, parsed, within).values())

    def _match_by_language(self, view: _View, parsed: ParsedQuery, within: int) -> dict[str, int]:
        out = {}
        for lang, q in parsed.match.items():
            bits_ = view.query_bits(q, within)
            if bits_:
                out[lang] = bits_
        return out

    def _facets(self, view: _View, query: SearchQuery, matched: int, filters: dict[str, int]) -> dict:
        facets: dict[str, list[tuple[str, int]]] = {}
        bases: dict[tuple, int] = {}
        for name in FACETS:
            others = tuple(sorted(k for k in filters if k != name))
            base = bases.get(others)
            if base is None:
                base = matched
                for k in others:
                    base &= filters[k]
                bases[others] = base
            selected = getattr(query, _FILTER_ATTR[name])
            if not base:
                facets[name] = [(v, 0) for v in sorted(selected)]
                continue
            counted = base if name == "language" else view.distinct_objects(base)
            rows = []
            for value in sorted(set(view.values(_FACET_FIELDS[name])) | set(selected)):
                n = B.count(counted & view.term(_FACET_FIELDS[name], value))
                if n or value in selected:
                    rows.append((value, n))
            rows.sort(key=lambda r: (-r[1], r[0]))
            if name == "tags" and len(rows) > TAG_FACET_LIMIT:
                rows = rows[:TAG_FACET_LIMIT] + [r for r in rows[TAG_FACET_LIMIT:] if r[0] in selected]
            facets[name] = rows
        return facets

    def _search(self, view: _View, query: SearchQuery, access: IndexFilter, page: int, page_size: int) -> SearchResult:
        state = self._state(view, query, access)
        page_count = math.ceil(state.total / page_size) if state.total else 0
        result = dict(total=state.total, facets=state.facets, suggestion=state.suggestion, page=page,
                      page_count=page_count, relaxed=state.relaxed)
        if not state.matches or page > page_count:
            return SearchResult(**result)
        start, end = (page - 1) * page_size, page * page_size
        ranked = self._rank(view, state, end)
        hits = tuple(self._hit(view, state, query.language, docnum, score, others)
                     for docnum, score, others in ranked[start:end])
        return SearchResult(hits=hits, **result)

    def _rank(self, view: _View, state: _State, end: int) -> list[tuple[int, float, tuple[int, ...]]]:
        """Objects ranked by their best variant: (docnum, score, other variants seen)."""
        matches = state.matches
        available = B.count(matches)
        ords = view.ords
        published = view.published
        limit = min(available, end + max(5, end // 2))  # a little extra: variants collapse, ties re-sort
        allow = B.BitsFilter(matches)
        # Only prefix / wildcard / fuzzy words: every match scores the same, so the
        # ranking is recency alone (no need to have Whoosh score every match).
        constant = not any(isinstance(leaf, wq.Term) for leaf in state.scored.leaves())
        ids = B.to_ids(matches) if constant else []
        while True:
            if constant:
                top = [(1.0, d) for d in heapq.nlargest(limit, ids, key=published.__getitem__)]
            else:
                results = view.searcher.search(state.scored, filter=allow, limit=limit)
                top = [(score, docnum) for score, docnum in results.top_n]
            # Equal scores: newest first (Whoosh breaks ties by docnum).
            top.sort(key=lambda sd: (-round(sd[0], 9), -published[sd[1]]))
            objects: dict[int, list] = {}
            for score, docnum in top:
                o = ords[docnum]
                if o in objects:
                    objects[o][2].append(docnum)
                else:
                    objects[o] = [docnum, score, []]
            if len(objects) >= end or limit >= available:
                break
            limit = min(available, limit * 3)
        return [(d, s, tuple(others)) for d, s, others in objects.values()]

    def _choose_variant(self, view: _View, state: _State, language: str, best: int, stored: dict) -> tuple[int, dict]:
        if stored.get("language") == language:
            return best, stored
        kind, object_id = stored["kind"], stored["object_id"]
        for lang in (language, stored.get("source_language")):
            if not lang or lang == stored.get("language") or lang not in state.languages:
                continue
            d = view.lookup(f"{kind}:{object_id}:{lang}")
            if d is not None and state.matches >> d & 1:
                return d, view.searcher.stored_fields(d)
        return best, stored

    def _hit(self, view: _View, state: _State, language: str, best: int, score: float,
             others: tuple[int, ...]) -> SearchHit:
        stored = view.searcher.stored_fields(best)
        docnum, stored = self._choose_variant(view, state, language, best, stored)
        lang = stored.get("language", "en")
        analysis_lang = lang if lang in LANGUAGES else "en"
        terms, prefixes = self._highlight_terms(view, state.parsed.highlight.get(analysis_lang))
        title = stored.get("title") or ""
        text = "\n".join(t for t in (stored.get("description") or "", excerpt_text(stored)) if t)
        other_langs = set()
        if len(state.languages) > 1:
            kind, object_id = stored["kind"], stored["object_id"]
            for other in state.languages:
                if other == lang:
                    continue
                d = view.lookup(f"{kind}:{object_id}:{other}")
                if d is not None and state.matches >> d & 1:
                    other_langs.add(other)
        tags = stored.get("tags") or ""
        return SearchHit(
            key=stored["key"],
            kind=stored["kind"],
            object_id=int(stored["object_id"]),
            language=lang,
            title=title,
            title_html=highlight_all(analysis_lang, title, terms, prefixes),
            snippet=snippet(analysis_lang, text, terms, prefixes),
            score=float(score),
            published_at=from_micros(view.published[docnum]),
            source_language=stored.get("source_language") or lang,
            is_translation=bool(stored.get("is_translation")),
            doc_type=stored.get("doc_type") or "",
            product=stored.get("product") or "",
            tags=tuple(t for t in tags.split(",") if t),
            url=stored.get("url") or "",
            other_languages=tuple(sorted(other_langs)),
        )

    def _highlight_terms(self, view: _View, hl: Highlight | None) -> tuple[frozenset[str], tuple[str, ...]]:
        if hl is None:
            return frozenset(), ()
        terms = set(hl.terms)
        prefixes = tuple(leaf.text for leaf in hl.multi if isinstance(leaf, wq.Prefix))
        for leaf in hl.multi:
            if not isinstance(leaf, wq.Prefix):
                terms.update(view.expansion(leaf)[1])
        return frozenset(terms), prefixes

    # -- did you mean

    def _suggest_correction(self, view: _View, query: SearchQuery, permitted: int,
                            filters: dict[str, int]) -> str | None:
        """A corrected query string that finds something the user may see, or None."""
        if not permitted:
            return None
        words = spelling_words(query.text)
        if not words:
            return None
        text = query.text
        changed = False
        for start, end, word in reversed(words):
            if view.term("spell", word) & permitted:
                continue
            best = None
            for leaf in view.leaves:
                corrector = leaf.searcher.corrector("spell")
                maxdist = 1 if len(word) <= 4 else 2
                for candidate in corrector.suggest(word, limit=8, maxdist=maxdist, prefix=1):
                    if candidate == word:
                        continue
                    n = B.count(view.term("spell", candidate) & permitted)
                    if n and (best is None or n > best[1]):
                        best = (candidate, n)
            if best is not None:
                original = text[start:end]
                replacement = best[0].capitalize() if original[:1].isupper() else best[0]
                text = text[:start] + replacement + text[end:]
                changed = True
        if not changed:
            return None
        parsed = parse(text, query.language, view.languages)
        found = self._match(view, parsed, permitted)
        for bits_ in filters.values():
            found &= bits_
        return text if found else None

    # -- as-you-type

    def suggest(self, prefix: str, access: IndexFilter, language: str = "en", limit: int = 8) -> list[str]:
        """Titles the user may see whose words start with the typed words
        (the last one as a prefix), user's language variant preferred, newest first."""
        words = [t.text for t in prefix_analyzer()((prefix or "")[:200], mode="query")]
        if not words or access.match_nothing or limit <= 0:
            return []
        with self._search_lock:
            view = self._safe_view()
            if view is None:
                return []
            try:
                return self._suggest(view, words, prefix, access, language, limit)
            except _READ_ERRORS:
                log.exception("suggest failed on the index at %s", self.path)
                return []

    def _suggest(self, view: _View, words: list[str], typed: str, access: IndexFilter, language: str,
                 limit: int) -> list[str]:
        candidates = view.permitted(access)
        for word in words[:-1]:
            candidates &= view.term("title_ac", word)
            if not candidates:
                return []
        last = words[-1]
        if len(last) < 2 and not is_cjk(last):
            return []
        candidates = view.query_bits(CappedPrefix("title_ac", last), candidates)
        if not candidates:
            return []
        published = view.published
        ords = view.ords
        newest = heapq.nlargest(limit * 20, B.to_ids(candidates), key=published.__getitem__)
        chosen: dict[int, tuple[int, str]] = {}
        for d in newest:
            o = ords[d]
            stored = view.searcher.stored_fields(d)
            preferred = stored.get("language") == language
            if o not in chosen or (preferred and not chosen[o][0]):
                chosen[o] = (1 if preferred else 0, stored.get("title") or "")
        lowered = typed.strip().lower()
        titles: list[str] = []
        ranked = sorted(chosen.values(), key=lambda pt: not pt[1].lower().startswith(lowered))
        for _, title in ranked:
            if title and title not in titles:
                titles.append(title)
            if len(titles) >= limit:
                break
        return titles
