"""Narrow fixes to Whoosh internals that cost indexing time without changing any
byte Whoosh writes or any answer it gives. Applied once, on import of ``engine``.

* ``W3PerDocReader._cached_reader`` caches a column reader per field, but not
  the answer "this field has no length column" (fields that are not scorable:
  IDs, keywords, the existence and positions fields). Whoosh asks for the field
  length of every posting it writes (``FieldWriter.add_postings``) and when it
  merges segments (``write_per_doc``), so each of those postings cost a
  ``file_exists`` (a path join and an ``os.stat``; in profiles about a quarter
  of writing a segment). A segment's files never change once written, so the
  negative answer is cached like the positive one.
* ``TermPool`` replaces the writer's ``PostingPool`` (``use_term_pool``). Whoosh
  collects every posting of a segment as a ``(field, term, docnum, weight,
  value)`` tuple, sorts them all, and when its memory limit is reached pickles
  them one by one to a run file, reads them back one by one and merges the runs
  posting by posting. But a writer numbers documents in the order it adds them,
  so the postings of one term already arrive in docnum order: grouping them per
  term, sorting only the terms and writing a run as one pickle per term gives
  the same sequence (the order Whoosh's sort produces) at a fraction of the cost.
  A term whose postings did arrive out of order (not seen in practice) is sorted
  exactly as Whoosh sorts it.
* Writing a segment from a ``TermPool`` goes term by term (``_add_term_lists``):
  Whoosh's ``FieldWriter.add_postings`` checks the order of, looks up the field
  length of and calls three methods for every single posting; here a term's
  postings are appended to the posting writer's block a block at a time, and
  field lengths are read only for fields that have them. The blocks, their
  statistics and every byte written are the same (``W3PostingsWriter`` still
  cuts, encodes and writes the blocks).
"""

from __future__ import annotations

import heapq
import logging
import pickle
import random
from itertools import chain

log = logging.getLogger(__name__)

_applied = False


def _cached_reader(self, fieldname, column):
    readers = self._readers
    try:
        return readers[fieldname]
    except KeyError:
        pass
    reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
    readers[fieldname] = reader
    return reader


class TermPool:
    """Drop-in for ``whoosh.writing.PostingPool`` (``add``, ``iter_postings``, ``cleanup``)."""

    MAX_RUNS = 64  # more runs than this are first merged in consecutive groups
    POSTING_BYTES = 180  # memory estimate per posting (tuple, docnum, weight, term bytes)

    def __init__(self, tempstore, limitmb: float = 128):
        self.tempstore = tempstore
        self.limit = int(limitmb * 1024 * 1024)
        self.size = 0
        self.terms: dict[str, dict[bytes, list]] = {}
        self.unsorted: set[tuple[str, bytes]] = set()
        self.runs: list[str] = []  # in the order written (= docnum order)
        self.fieldnames: set[str] = set()

    def add(self, item) -> None:
        fieldname = item[0]
        field = self.terms.get(fieldname)
        if field is None:
            field = self.terms[fieldname] = {}
            self.fieldnames.add(fieldname)
        tbytes = item[1]
        postings = field.get(tbytes)
        if postings is None:
            field[tbytes] = [item]
        else:
            if postings[-1][2] >= item[2]:
                self.unsorted.add((fieldname, tbytes))
            postings.append(item)
        value = item[4]
        self.size += self.POSTING_BYTES + (len(value) if value else 0)
        if self.size > self.limit:
            self.save()

    def _sorted_terms(self):
        """The pool's posting lists in (field, term) order, each in Whoosh's order."""
        terms, unsorted = self.terms, self.unsorted
        for fieldname in sorted(terms):
            field = terms[fieldname]
            for tbytes in sorted(field):
                postings = field[tbytes]
                if unsorted and (fieldname, tbytes) in unsorted:
                    postings.sort()
                yield postings

    def _clear(self) -> None:
        self.terms = {}
        self.unsorted = set()
        self.size = 0

    def _new_run(self):
        path = f"{random.getrandbits(64):016x}.tpr"
        return path, self.tempstore.create_file(path).raw_file()

    def _write_run(self, lists) -> None:
        path, f = self._new_run()
        try:
            dump = pickle.dump
            for postings in lists:
                dump(postings, f, pickle.HIGHEST_PROTOCOL)
        finally:
            f.close()
        self.runs.append(path)

    def save(self) -> None:
        if self.terms:
            self._write_run(self._sorted_terms())
            self._clear()

    def _read_run(self, path: str, order: int):
        f = self.tempstore.open_file(path).raw_file()
        load = pickle.load
        try:
            while True:
                try:
                    postings = load(f)
                except EOFError:
                    return
                first = postings[0]
                yield (first[0], first[1], order), postings
        finally:
            f.close()

    def _merged(self, paths: list[str]):
        """One posting list per term over the runs (runs in docnum order)."""
        streams = [self._read_run(path, order) for order, path in enumerate(paths)]
        key = None
        group: list = []
        for (fieldname, tbytes, _order), postings in heapq.merge(*streams):
            if (fieldname, tbytes) != key:
                if group:
                    yield group
                key = (fieldname, tbytes)
                group = postings
                continue
            if group[-1][2] >= postings[0][2]:
                group = sorted(group + postings)
            else:
                group.extend(postings)
        if group:
            yield group

    def _reduce_runs(self) -> None:
        while len(self.runs) > self.MAX_RUNS:
            runs, self.runs = self.runs, []
            for start in range(0, len(runs), self.MAX_RUNS):
                chunk = runs[start:start + self.MAX_RUNS]
                if len(chunk) == 1:
                    self.runs.append(chunk[0])
                    continue
                self._write_run(self._merged(chunk))
                for path in chunk:
                    self._remove(path)

    def iter_postings(self):
        if not self.runs:
            return TermLists(self._sorted_terms())
        self.save()
        self._reduce_runs()
        runs, self.runs = self.runs, []
        return TermLists(self._removing(runs, self._merged(runs)))

    def _removing(self, runs, lists):
        try:
            yield from lists
        finally:
            for path in runs:
                self._remove(path)

    def _remove(self, path: str) -> None:
        try:
            self.tempstore.delete_file(path)
        except OSError:
            pass

    def cleanup(self) -> None:
        for path in self.runs:
            self._remove(path)
        self.runs = []
        self._clear()


class TermLists:
    """A pool's postings in Whoosh's order, as one list per term (``lists``);
    iterating gives the single postings, for any other consumer."""

    def __init__(self, lists):
        self.lists = lists

    def __iter__(self):
        return chain.from_iterable(self.lists)


def _add_term_lists(fieldwriter, schema, lengths, items: TermLists) -> None:
    """``FieldWriter.add_postings`` for a ``TermLists``, a term at a time (see module docstring)."""
    from whoosh.codec.whoosh3 import _lenfield

    lastfn = None
    dfl = None
    for postings in items.lists:
        if postings[0][2] < 0:  # docnum -1: Whoosh's spelling-word items, never written as postings
            postings = [p for p in postings if p[2] >= 0]
            if not postings:
                continue
        fieldname = postings[0][0]
        if fieldname != lastfn:
            if lastfn is not None:
                fieldwriter.finish_field()
            fieldwriter.start_field(fieldname, schema[fieldname])
            lastfn = fieldname
            dfl = None
            if lengths is not None and lengths.has_column(_lenfield(fieldname)):
                dfl = lengths.doc_field_length
        fieldwriter.start_term(postings[0][1])
        pw = fieldwriter._postwriter
        limit = pw._blocklimit
        n = len(postings)
        i = 0
        while i < n:
            room = limit - len(pw._ids)
            if room <= 0:
                pw._write_block()
                continue
            chunk = postings[i:i + room] if i or n > room else postings
            i += len(chunk)
            ids = [p[2] for p in chunk]
            weights = [p[3] for p in chunk]
            pw._ids.extend(ids)
            pw._weights.extend(weights)
            top = max(weights)
            if top > pw._maxweight:
                pw._maxweight = top
            pw._values.extend([p[4] for p in chunk if p[4]])
            if dfl is not None:
                found = [length for length in (dfl(d, fieldname) for d in ids) if length]
                if found:
                    low, high = min(found), max(found)
                    if pw._minlength is None or low < pw._minlength:
                        pw._minlength = low
                    if high > pw._maxlength:
                        pw._maxlength = high
        fieldwriter.finish_term()
    if lastfn is not None:
        fieldwriter.finish_field()


def _add_postings(self, schema, lengths, items):
    if isinstance(items, TermLists):
        return _add_term_lists(self, schema, lengths, items)
    return _whoosh_add_postings(self, schema, lengths, items)


_whoosh_add_postings = None


def use_term_pool(writer, limitmb: float) -> None:
    """Give a fresh Whoosh ``SegmentWriter`` a ``TermPool`` (see the module docstring)."""
    from whoosh.writing import PostingPool

    pool = getattr(writer, "pool", None)
    if type(pool) is PostingPool and not pool.current and not pool.runs and not writer._added:
        writer.pool = TermPool(writer._tempstorage, limitmb)


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    try:
        from whoosh.codec.whoosh3 import W3PerDocReader
    except ImportError:  # pragma: no cover - another Whoosh layout: leave it alone
        return
    if not hasattr(W3PerDocReader, "_cached_reader") or not hasattr(W3PerDocReader, "has_column"):
        log.info("whoosh internals differ; indexing speedups not applied")  # pragma: no cover
        return
    W3PerDocReader._cached_reader = _cached_reader

    global _whoosh_add_postings
    from whoosh.codec.whoosh3 import W3FieldWriter, W3PostingsWriter

    needed = ("_blocklimit", "_ids", "_weights", "_values", "_maxweight", "_minlength", "_maxlength")
    probe = W3PostingsWriter(None, blocklimit=128)
    probe._new_block()
    if all(hasattr(probe, name) for name in needed) and "add_postings" not in W3FieldWriter.__dict__:
        _whoosh_add_postings = W3FieldWriter.add_postings
        W3FieldWriter.add_postings = _add_postings
    else:  # pragma: no cover
        log.info("whoosh posting writer internals differ; term-at-a-time writing not applied")
