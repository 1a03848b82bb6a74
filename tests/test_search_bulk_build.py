"""Bulk index builds: faster ways of writing must give the very same index and answers.

``speedups.TermPool`` replaces Whoosh's posting pool in kbportal's writers, and
rebuilds write everything in one segment; searches must not notice either.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import PostingPool

from kbportal.models import Role
from kbportal.services import access
from kbportal.services.access import AudienceRule, IndexFields, Principal
from kbportal.services.search import SearchEntry, SearchIndex, SearchQuery, make_key
from kbportal.services.search import engine, speedups
from kbportal.services.search.schema import build_schema, entry_document

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
TIERS = ("registered", "silver", "gold", "platinum")
STAFF = access.index_filter(Principal(user_id=1, role=Role.ADMIN), now=NOW)
WORDS = ("router switch firewall gateway install configure update release notes partner price list "
         "warranty cable module power supply antenna signal network secure cloud backup restore "
         "Übersicht Schnittstelle Gerät installieren mise à jour réseau sécurité").split()
CJK = ("ルーター", "設定", "ネットワーク", "更新")


def corpus(count: int, seed: int = 3) -> list[SearchEntry]:
    rng = random.Random(seed)
    out = []
    for i in range(1, count + 1):
        lang = rng.choice(("en", "en", "en", "de", "fr", "ja"))
        words = [rng.choice(WORDS) for _ in range(rng.randint(5, 80))]
        if lang == "ja":
            words += [rng.choice(CJK) for _ in range(10)]
        region, tier = rng.choice(("EMEA", "APAC", "AMER")), rng.choice(TIERS)
        audience = AudienceRule(regions=frozenset({region}), min_tier=tier)
        out.append(SearchEntry(
            key=make_key("document", i, lang), kind="document", object_id=i, language=lang,
            title=" ".join(rng.choice(WORDS) for _ in range(3)), description=" ".join(words[:6]),
            body=" ".join(words), tags=tuple(rng.sample(("alpha", "beta", "gamma", "delta"), 2)),
            doc_type=rng.choice(("guide", "datasheet", "brochure")), product=rng.choice(("Alpha", "Beta")),
            published_at=NOW - timedelta(days=rng.randint(0, 900)),
            access=IndexFields("published", None, access.audience_tokens(audience)),
        ))
    return out


def _build(folder: Path, docs: list[dict], *, term_pool: bool, limitmb: float):
    ix = FileStorage(str(folder)).create_index(build_schema())
    writer = ix.writer(limitmb=limitmb)
    if term_pool:
        speedups.use_term_pool(writer, limitmb)
        assert isinstance(writer.pool, speedups.TermPool)
    else:
        assert type(writer.pool) is PostingPool
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()
    return ix


def _segment_files(ix) -> dict[str, bytes]:
    """The bytes of the segment's files (terms, postings, stored fields, columns...) by
    their name without the random segment id."""
    (segment,) = ix._segments()
    storage = segment.open_compound_file(ix.storage) if segment.is_compound() else ix.storage
    out = {}
    for name in storage.list():
        if segment.segment_id() in name:
            with storage.open_file(name) as f:
                out[name.replace(segment.segment_id(), "*")] = bytes(f.read())
    return out


def _postings(ix) -> list:
    out = []
    with ix.reader() as reader:
        for fieldname, text in reader.all_terms():
            fmt = reader.schema[fieldname].format
            values = "positions" if fmt.supports("positions") else "weight"
            out.append((fieldname, text, list(reader.postings(fieldname, text).items_as(values))))
        stored = [reader.stored_fields(d) for d in range(reader.doc_count_all())]
        lengths = [[reader.doc_field_length(d, f"text_{lang}") for lang in ("en", "de", "fr", "ja")]
                   for d in range(reader.doc_count_all())]
    return [out, stored, lengths]


@pytest.mark.parametrize("limitmb, max_runs", [(256, 64), (0.05, 64), (0.05, 3)],
                         ids=["in-memory", "spilled-runs", "runs-merged-first"])
def test_the_term_pool_writes_the_same_segment_as_whooshs_pool(tmp_path, monkeypatch, limitmb, max_runs):
    monkeypatch.setattr(speedups.TermPool, "MAX_RUNS", max_runs)
    docs = [entry_document(e) for e in corpus(150)]
    (tmp_path / "whoosh").mkdir()
    (tmp_path / "terms").mkdir()
    whoosh_ix = _build(tmp_path / "whoosh", docs, term_pool=False, limitmb=limitmb)
    terms_ix = _build(tmp_path / "terms", docs, term_pool=True, limitmb=limitmb)
    expected, got = _postings(whoosh_ix), _postings(terms_ix)
    assert len(expected[0]) > 300
    assert got == expected
    files = _segment_files(whoosh_ix)
    assert {"*.trm", "*.pst"} <= set(files), sorted(files)
    assert _segment_files(terms_ix) == files  # byte for byte, block statistics included


def test_postings_added_out_of_docnum_order_come_out_sorted_as_whoosh_sorts_them(tmp_path):
    storage = FileStorage(str(tmp_path)).create()
    pool = speedups.TermPool(storage, limitmb=0.0001)  # every add spills a run
    reference = []
    for item in [("f", b"b", 5, 1.0, b""), ("f", b"a", 9, 1.0, b""), ("f", b"a", 2, 1.0, b""),
                 ("e", b"z", 1, 2.0, b"x"), ("f", b"a", 4, 1.0, b""), ("f", b"b", 1, 1.0, b"")]:
        pool.add(item)
        reference.append(item)
    assert len(pool.runs) > 1
    assert list(pool.iter_postings()) == sorted(reference)
    pool.cleanup()
    assert [name for name in storage.list() if name.endswith(".tpr")] == []


QUERIES = ("router", "router switch", '"install configure"', "netw*", "firewal~", "Übersicht", "installieren",
           "réseau", "ルーター", "設定", "power OR cable", "secure -cloud", "alpha")


def _answers(index: SearchIndex) -> list:
    partner = access.index_filter(Principal(user_id=2, role=Role.PARTNER_USER, org_id=7, region="EMEA",
                                            tier="gold", eligible_tiers=frozenset(TIERS[:3])), now=NOW)
    out = []
    for text in QUERIES:
        for flt in (STAFF, partner):
            for language in ("en", "de", "ja"):
                result = index.search(SearchQuery(text=text, language=language, with_facets=True), flt)
                out.append((text, language, result.total, result.facets, result.suggestion, result.relaxed,
                            [(h.key, round(h.score, 6), h.title_html, h.snippet, h.other_languages)
                             for h in result.hits]))
    return out


def _three_ways(folder: Path, entries: list[SearchEntry]) -> dict[str, list]:
    """Answers of the same entries indexed by a rebuild, one entry per commit (then the
    indexer's idle-time merges) and in batches that merge as they go."""
    bulk = SearchIndex.create(folder / "bulk")
    incremental = SearchIndex.create(folder / "incremental")
    batched = SearchIndex.create(folder / "batched")
    try:
        assert bulk.rebuild(iter(entries)) == len(entries)
        for e in entries:
            incremental.apply([e], [])
        incremental.compact()
        incremental.optimize()
        for start in range(0, len(entries), 50):
            batched.apply(entries[start:start + 50], [], merge=True)
        return {"bulk": _answers(bulk), "incremental": _answers(incremental), "batched": _answers(batched)}
    finally:
        for index in (bulk, incremental, batched):
            index.close()


def test_every_way_of_building_answers_exactly_as_with_whooshs_own_pool_and_merges(tmp_path, monkeypatch):
    entries = corpus(120)
    fast = _three_ways(tmp_path / "fast", entries)
    with monkeypatch.context() as m:  # Whoosh's PostingPool, merges reading unmapped files
        m.setattr(speedups, "use_term_pool", lambda writer, limitmb: None)
        m.setattr(engine, "_merge_storage", lambda storage: storage)
        plain = _three_ways(tmp_path / "plain", entries)
    for way in ("bulk", "incremental", "batched"):
        assert sum(1 for row in fast[way] if row[-1]) > 20
        assert fast[way] == plain[way], way


def test_a_bulk_rebuild_matches_what_an_incremental_index_matches(tmp_path):
    """Same matches, totals, facets and suggestions. (The ranking may differ a little:
    merged Whoosh segments sum field lengths from their one-byte approximations, so
    BM25's average length differs slightly; that is Whoosh, not the pool.)"""
    answers = _three_ways(tmp_path, corpus(120))
    sets = {way: [(row[:6], sorted(h[0] for h in row[-1]) if row[2] <= 10 else len(row[-1])) for row in rows]
            for way, rows in answers.items()}
    assert sets["incremental"] == sets["bulk"]
    assert sets["batched"] == sets["bulk"]


# --------------------------------------------------------------------------- rebuilds read the database in batches


def test_documents_loaded_in_a_batch_give_the_same_entries_as_one_by_one(db):
    from sqlmodel import Session

    from kbportal.models import Document, DocumentTag, DocumentVariant, DocumentVersion
    from kbportal.services import indexing

    rng = random.Random(5)
    with Session(db) as s:
        audiences = [access.save_audience(s, AudienceRule(regions=frozenset({"EMEA"}), min_tier="gold")),
                     access.save_audience(s, AudienceRule(all_regions=True)), None]
        ids = []
        for i in range(40):
            status = rng.choice(("published", "published", "published", "draft", "archived"))
            d = Document(title=f"Doc {i}", description=f"about {i}", status=status, doc_type="guide",
                         product=rng.choice(("Alpha", "")), source_language=rng.choice(("en", "de", "pt-BR", "xx")),
                         audience_id=rng.choice(audiences),
                         expires_at=NOW + timedelta(days=9) if i % 7 == 0 else None,
                         published_at=NOW - timedelta(days=i) if i % 5 else None)
            s.add(d)
            s.flush()
            v = DocumentVersion(document_id=d.id, number=1, filename="a.txt", storage_key="k",
                                storage_version_id="", sha256="0" * 64, size=1, mime_type="text/plain",
                                text=" ".join(rng.choice(WORDS) for _ in range(20)))
            s.add(v)
            s.flush()
            d.published_version_id = v.id if i % 9 else (None if i % 2 else 10_000 + i)  # none / missing row
            for tag in rng.sample(("zeta", "alpha", "mid", "beta"), rng.randint(0, 3)):
                s.add(DocumentTag(document_id=d.id, tag=tag))
            for lang in rng.sample(("fr", "de", "ja", "en", "xx"), rng.randint(0, 3)):
                s.add(DocumentVariant(document_id=d.id, source_version_id=v.id, source_number=1, language=lang,
                                      state=rng.choice(("ready", "ready", "processing")), title=f"T {lang}",
                                      description="", text=f"{lang} text {i}"))
            ids.append(d.id)
        s.commit()
        ids += [99_999]  # no such document
    with Session(db) as s:
        one_by_one = [indexing.document_entries(s, i) for i in ids]
    with Session(db) as s:
        batched = indexing.document_entries_many(s, ids)
    assert sum(1 for e in one_by_one if e) > 15 and sum(len(e) for e in one_by_one) > sum(1 for e in one_by_one if e)
    assert batched == one_by_one


def test_a_rebuild_from_the_database_indexes_every_published_document(db):
    from sqlmodel import Session

    from kbportal.models import Document, DocumentVersion
    from kbportal.services import indexing

    with Session(db) as s:
        for i in range(indexing.BATCH + 7):  # more than one batch
            d = Document(title=f"Doc {i}", status="published" if i % 10 else "draft", doc_type="guide")
            s.add(d)
            s.flush()
            v = DocumentVersion(document_id=d.id, number=1, filename="a.txt", storage_key="k", storage_version_id="",
                                sha256="0" * 64, size=1, mime_type="text/plain", text=f"word{i} common")
            s.add(v)
            s.flush()
            d.published_version_id = v.id
        s.commit()
    published = sum(1 for i in range(indexing.BATCH + 7) if i % 10)
    assert indexing.rebuild() == published
    index = indexing.get_index()
    result = index.search(SearchQuery(text="common", page_size=100), STAFF)
    assert result.total == published
    assert index.search(SearchQuery(text="word3"), STAFF).total == 1
    assert index.search(SearchQuery(text="word10"), STAFF).total == 0  # a draft
