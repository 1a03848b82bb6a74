"""Search: kbportal's engine (Whoosh behind ``kbportal.services.search``) vs SQLite FTS5.

    .venv/bin/python bench/search.py --docs 20000 --json [--seed 7] [--queries 200]

Builds one synthetic corpus (fixed seed): ~300 words a document from a Zipf-ish
vocabulary, titles, descriptions, mostly English with some German, French and
Japanese entries and German translations of some English ones, document types,
products, tags, kinds, five years of publication dates, statuses, a few expiry
dates, and audiences by region / minimum tier / organisation.

Both engines index the same entries and answer the same queries in the same run:

  Every query is a search page: the top 10 with highlighted snippets and the
  number of matches (kbportal's ``search()``; FTS5: bm25-ordered SELECT with
  snippet() + a count(*)).
  term, and2, phrase, prefix, fuzzy  staff (no access filter)
  filtered_highlight                 a partner's access filter (region, tier, org;
                                     status; expiry) inside the query, a doc-type
                                     filter on a third of them
  facet                              as filtered_highlight, plus the matches counted
                                     by kind, type, product, language and tag
                                     (FTS5: five GROUP BY over a temp table of matches)
  add_visible                        add one entry (one commit), then a partner's search
                                     finds it; kbportal's small commits skip segment
                                     merging, which ``compact()`` does when the indexer
                                     is idle (timed once afterwards: compact_ms)

kbportal builds its index the way ``kbportal reindex`` does (``--build rebuild``,
the default: ``SearchIndex.rebuild``, one new segment written aside, then swapped
in), or through ``SearchIndex.apply`` in batches of 1,000 (``--build apply``: the
indexer job's path) followed by ``optimize()`` (FTS5 gets its 'optimize' too; all in
build_s). The JSON names the path (``kbportal.build``) and the time per entry. FTS5: external-content-free fts5(title, body, porter unicode61) plus
a metadata table, an access-token table and a tag table, filtered by joins.
Query strings are distinct within a kind (no result-cache hits); their words come
from below the 30 most frequent synthetic words (those occur in nearly every
document, as stop words would, which real analyzers drop); both engines get the
same warm-up queries first. ``<kind>_avg_results`` is a sanity check (results per
query) so a fast engine that finds nothing shows. Prints one JSON object (``--json``) or a table.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kbportal.models import Role  # noqa: E402
from kbportal.services import access  # noqa: E402
from kbportal.services.access import AudienceRule, IndexFields, Principal  # noqa: E402
from kbportal.services.search import SearchEntry, SearchQuery, make_key, open_index  # noqa: E402

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
REGIONS = ("APAC", "EMEA", "NA", "LATAM", "MEA")
TIERS = ("registered", "silver", "gold", "platinum")
DOC_TYPES = ("datasheet", "whitepaper", "guide", "brochure", "case-study", "price-list", "presentation",
             "faq", "release-notes", "training")
PRODUCTS = tuple(f"Product{n:02d}" for n in range(20))
TAGS = tuple(f"tag{n:02d}" for n in range(40))
KINDS = ("document",) * 7 + ("article",) * 2 + ("post",)
QUERY_KINDS = ("term", "and2", "phrase", "prefix", "fuzzy", "filtered_highlight", "facet")


# --------------------------------------------------------------------------- corpus


def make_vocabulary(rng: random.Random, n: int, onsets: str, vowels: str) -> list[str]:
    words: set[str] = set()
    while len(words) < n:
        syllables = rng.choice((2, 2, 3, 3, 3, 4))
        words.add("".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables)))
    return sorted(words, key=lambda w: (len(w), w))


class Zipf:
    def __init__(self, words: list[str], s: float = 1.07):
        self.words = words
        weights = [1.0 / (rank + 1) ** s for rank in range(len(words))]
        self.cum = list(itertools.accumulate(weights))

    def sample(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cum, k=k)


@dataclass
class Doc:
    id: int
    entry: SearchEntry
    body_words: list[str]


def inflect(rng: random.Random, words: list[str], endings: tuple[str, ...]) -> list[str]:
    return [w + rng.choice(endings) if rng.random() < 0.2 else w for w in words]


def make_corpus(n: int, seed: int) -> tuple[list[Doc], dict]:
    rng = random.Random(seed)
    en = Zipf(make_vocabulary(rng, 20_000, "bcdfghklmnprstvwz", "aeiou"))
    de = Zipf(make_vocabulary(rng, 12_000, "bdfghklmnprstwz", "aeiouä"))
    fr = Zipf(make_vocabulary(rng, 12_000, "bcdfglmnprstv", "aeioué"))
    kanji = [chr(c) for c in range(0x4E00, 0x4E00 + 1500)] + [chr(c) for c in range(0x30A2, 0x30F3)]
    ja = Zipf(kanji, s=0.9)
    vocab = {"en": en, "de": de, "fr": fr, "ja": ja}
    endings = {"en": ("s", "ing", "ed"), "de": ("en", "er", "e"), "fr": ("s", "es", "e")}
    docs: list[Doc] = []
    object_id = 0
    start = NOW - timedelta(days=5 * 365)
    while len(docs) < n:
        object_id += 1
        kind = rng.choice(KINDS)
        lang = rng.choices(("en", "de", "fr", "ja"), weights=(80, 8, 7, 5))[0]
        roll = rng.random()
        if roll < 0.3:
            rule = AudienceRule(all_regions=True, min_tier=rng.choice((None, None, "silver", "gold")))
        elif roll < 0.9:
            rule = AudienceRule(regions=frozenset(rng.sample(REGIONS, rng.choice((1, 1, 2)))),
                                min_tier=rng.choice((None, "silver", "gold", "platinum")))
        else:
            rule = AudienceRule(org_ids=frozenset(rng.sample(range(1, 200), 2)))
        status = rng.choices(("published", "draft", "archived"), weights=(90, 5, 5))[0]
        expires = NOW + timedelta(days=rng.randint(-200, 400)) if rng.random() < 0.05 else None
        fields = IndexFields(status, expires, access.audience_tokens(rule))
        published = start + timedelta(seconds=rng.randint(0, 5 * 365 * 86400))
        meta = dict(kind=kind, doc_type=rng.choice(DOC_TYPES), product=rng.choice(PRODUCTS),
                    tags=tuple(sorted(set(rng.sample(TAGS, rng.randint(1, 3))))), published_at=published,
                    access=fields, object_id=object_id)
        variants = [lang] + (["de"] if lang == "en" and rng.random() < 0.1 else [])
        for i, variant in enumerate(variants):
            if variant == "ja":
                body_words = ["".join(ja.sample(rng, rng.randint(2, 6))) for _ in range(120)]
                title = "".join(ja.sample(rng, rng.randint(6, 12)))
                description = "".join(ja.sample(rng, 40))
                body = "。".join(" ".join(body_words[j:j + 8]) for j in range(0, len(body_words), 8))
            else:
                z = vocab[variant]
                body_words = inflect(rng, z.sample(rng, 300), endings[variant])
                title = " ".join(z.sample(rng, rng.randint(4, 8))).capitalize()
                description = " ".join(z.sample(rng, rng.randint(15, 25))).capitalize() + "."
                body = ". ".join(" ".join(body_words[j:j + 15]).capitalize() for j in range(0, 300, 15)) + "."
            entry = SearchEntry(key=make_key(kind, object_id, variant), language=variant, title=title,
                                description=description, body=body, source_language=lang,
                                is_translation=i > 0, url=f"/d/{object_id}", **meta)
            docs.append(Doc(len(docs) + 1, entry, body_words))
            if len(docs) >= n:
                break
    return docs, vocab


def principals(rng: random.Random, k: int) -> list[Principal]:
    out = []
    for i in range(k):
        tier = rng.choice(TIERS)
        out.append(Principal(user_id=1000 + i, role=Role.PARTNER_USER, org_id=rng.randint(1, 200),
                             region=rng.choice(REGIONS), tier=tier,
                             eligible_tiers=frozenset(TIERS[:TIERS.index(tier) + 1])))
    return out


def make_queries(docs: list[Doc], vocab: dict, count: int, seed: int) -> dict[str, list[str]]:
    rng = random.Random(seed + 1)
    # Queries use content words: the 30 most frequent synthetic words occur in almost
    # every document, like stop words (which the analyzers drop), so they are left out.
    en = vocab["en"].words
    frequent, middle = en[30:400], en[50:3000]
    common = set(en[:30])
    known = set(en)

    def base(word: str) -> str:  # undo ``inflect``
        for ending in ("ing", "ed", "s"):
            if word.endswith(ending) and word[: -len(ending)] in known:
                return word[: -len(ending)]
        return word

    def distinct(make, n):
        seen: dict[str, None] = {}
        tries = 0
        while len(seen) < n and tries < n * 50:
            seen.setdefault(make(), None)
            tries += 1
        return list(seen)

    def phrase():
        pairs: list[int] = []
        while not pairs:
            doc = rng.choice(docs)
            if doc.entry.language != "en":
                continue
            words = [base(w) for w in doc.body_words]
            pairs = [j for j in range(len(words) - 1) if words[j] not in common and words[j + 1] not in common]
        words = doc.body_words
        j = rng.choice(pairs)
        return f'"{words[j]} {words[j + 1]}"'

    def typo(word):
        i = rng.randrange(1, len(word))
        op = rng.choice(("swap", "drop", "sub"))
        if op == "swap" and i < len(word) - 1:
            return word[:i] + word[i + 1] + word[i] + word[i + 2:]
        if op == "drop":
            return word[:i] + word[i + 1:]
        return word[:i] + rng.choice("aeiou") + word[i + 1:]

    return {
        "term": distinct(lambda: rng.choice(middle), count),
        "and2": distinct(lambda: f"{rng.choice(frequent)} {rng.choice(middle)}", count),
        "phrase": distinct(phrase, count),
        "prefix": distinct(lambda: rng.choice(middle)[:4] + "*", count),
        "fuzzy": distinct(lambda: typo(rng.choice(middle)) + "~", count),
        "filtered_highlight": distinct(lambda: rng.choice((rng.choice(middle), f"{rng.choice(frequent)} {rng.choice(middle)}")), count),
        "facet": distinct(lambda: rng.choice(middle), count),
    }


# --------------------------------------------------------------------------- engines


class Kbportal:
    name = "kbportal"

    def __init__(self, path: Path, how: str = "rebuild"):
        self.index = open_index(path)
        self.how = how
        self.label = f"kbportal-{how}"  # --keep: what was built is remembered per build path

    def build(self, docs: list[Doc], batch: int = 1000) -> None:
        if self.how == "rebuild":  # ``kbportal reindex``: one segment, built aside, swapped in
            self.index.rebuild(d.entry for d in docs)
            return
        # The indexer's path as a bulk load: no merging per batch, one merge into a
        # single segment at the end (as FTS5's 'optimize' below; both timed). The
        # indexer's default (merge=None) merges in tiers as it goes.
        for i in range(0, len(docs), batch):
            self.index.apply([d.entry for d in docs[i:i + batch]], [], merge=False)
        self.index.optimize()

    def size_mb(self) -> float:
        return self.index.stats().size_bytes / 1e6

    def run(self, kind: str, text: str, principal: Principal | None, doc_type: str | None) -> int:
        if principal is None:
            flt = access.index_filter(Principal(user_id=1, role=Role.ADMIN), now=NOW)
        else:
            flt = access.index_filter(principal, now=NOW)
        q = SearchQuery(text=text, language="en", with_facets=(kind == "facet"),
                        doc_types=frozenset({doc_type}) if doc_type else frozenset())
        return len(self.index.search(q, flt).hits)

    def add(self, doc: Doc) -> None:
        self.index.apply([doc.entry], [])

    def compact(self) -> None:
        self.index.compact()


class Fts5:
    name = "fts5"

    def __init__(self, path: Path, vocab_words: list[str]):
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.executescript("""
            PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-200000;
            CREATE TABLE IF NOT EXISTS meta(id INTEGER PRIMARY KEY, key TEXT UNIQUE, obj TEXT, kind TEXT,
                              language TEXT, doc_type TEXT, product TEXT, status TEXT, expires INTEGER,
                              published INTEGER);
            CREATE TABLE IF NOT EXISTS tags(doc INTEGER, tag TEXT);
            CREATE INDEX IF NOT EXISTS tags_doc ON tags(doc);
            CREATE TABLE IF NOT EXISTS acc(token TEXT, doc INTEGER, PRIMARY KEY(doc, token)) WITHOUT ROWID;
            CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(title, body, tokenize='porter unicode61');
            CREATE VIRTUAL TABLE IF NOT EXISTS vocab USING fts5vocab(fts, row);
        """)
        self.path = path

    def _insert(self, d: Doc) -> None:
        e = d.entry
        ex = e.access.expires_at
        self.db.execute("INSERT INTO meta VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (d.id, e.key, f"{e.kind}:{e.object_id}", e.kind, e.language, e.doc_type, e.product,
                         e.access.status, int(ex.timestamp()) if ex else 0, int(e.published_at.timestamp())))
        self.db.executemany("INSERT INTO tags VALUES (?,?)", [(d.id, t) for t in e.tags])
        self.db.executemany("INSERT INTO acc VALUES (?,?)", [(t, d.id) for t in e.access.access_tokens])
        self.db.execute("INSERT INTO fts(rowid, title, body) VALUES (?,?,?)",
                        (d.id, e.title, "\n".join((e.description, " ".join(e.tags), e.product, e.body))))

    def build(self, docs: list[Doc]) -> None:
        self.db.execute("BEGIN")
        for d in docs:
            self._insert(d)
        self.db.execute("COMMIT")
        self.db.execute("INSERT INTO fts(fts) VALUES ('optimize')")
        self.db.execute("ANALYZE")

    def size_mb(self) -> float:
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return os.path.getsize(self.path) / 1e6

    @staticmethod
    def _quote(word: str) -> str:
        return '"' + word.replace('"', '""') + '"'

    def match(self, kind: str, text: str) -> str:
        if kind == "phrase":
            return text
        if text.endswith("*"):
            return self._quote(text[:-1]) + "*"
        if text.endswith("~"):
            word = text[:-1]
            rows = self.db.execute("SELECT term FROM vocab WHERE term >= ? AND term < ?",
                                   (word[0], chr(ord(word[0]) + 1))).fetchall()
            near = [t for (t,) in rows if abs(len(t) - len(word)) <= 1 and _within1(t, word)]
            return " OR ".join(self._quote(t) for t in near) or self._quote(word)
        return " AND ".join(self._quote(w) for w in text.split())

    def run(self, kind: str, text: str, principal: Principal | None, doc_type: str | None) -> int:
        """What kbportal's search returns, the SQL way: top 10 by bm25 (title weighted)
        with snippets, the number of matches, and for ``facet`` the five GROUP BYs."""
        match = self.match(kind, text)
        where = "fts MATCH ?"
        params: list = [match]
        if principal is not None:
            tokens = sorted(access.principal_tokens(principal))
            marks = ",".join("?" * len(tokens))
            where += (f" AND m.status = 'published' AND (m.expires = 0 OR m.expires > ?) "
                      f"AND EXISTS (SELECT 1 FROM acc a WHERE a.doc = m.id AND a.token IN ({marks}))")
            params += [int(NOW.timestamp()), *tokens]
        if doc_type:
            where += " AND m.doc_type = ?"
            params.append(doc_type)
        rows = self.db.execute(
            f"SELECT m.id, snippet(fts, 1, '<mark>', '</mark>', '…', 30) FROM fts JOIN meta m ON m.id = fts.rowid "
            f"WHERE {where} ORDER BY bm25(fts, 3.0, 1.0) LIMIT 10", params).fetchall()
        self.db.execute(f"SELECT count(*) FROM fts JOIN meta m ON m.id = fts.rowid WHERE {where}", params).fetchone()
        if kind == "facet":
            self.db.execute("DROP TABLE IF EXISTS temp.hits")
            self.db.execute(f"CREATE TEMP TABLE hits AS SELECT m.id AS id FROM fts JOIN meta m ON m.id = fts.rowid "
                            f"WHERE {where}", params)
            for column in ("kind", "doc_type", "product", "language"):
                self.db.execute(f"SELECT m.{column}, count(*) FROM hits JOIN meta m ON m.id = hits.id "
                                f"GROUP BY 1").fetchall()
            self.db.execute("SELECT t.tag, count(*) FROM hits JOIN tags t ON t.doc = hits.id GROUP BY 1").fetchall()
        return len(rows)

    def add(self, doc: Doc) -> None:
        """An upsert, as kbportal's (a --keep rerun adds the same entries again)."""
        self.db.execute("BEGIN")
        for table, column in (("meta", "id"), ("tags", "doc"), ("acc", "doc"), ("fts", "rowid")):
            self.db.execute(f"DELETE FROM {table} WHERE {column} = ?", (doc.id,))
        self._insert(doc)
        self.db.execute("COMMIT")

    def compact(self) -> None:
        self.db.execute("INSERT INTO fts(fts, rank) VALUES ('merge', 500)")


def _within1(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance <= 1."""
    if a == b:
        return True
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                   and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1:]


# --------------------------------------------------------------------------- measuring


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def measure(engine, queries: dict[str, list[str]], users: list[Principal], seed: int) -> dict:
    rng = random.Random(seed + 2)
    out: dict[str, float] = {}
    for kind in QUERY_KINDS:
        times = []
        found = 0
        for text in queries[kind]:
            principal = rng.choice(users) if kind in ("filtered_highlight", "facet") else None
            doc_type = rng.choice(DOC_TYPES) if kind == "filtered_highlight" and rng.random() < 0.33 else None
            t0 = time.perf_counter()
            found += engine.run(kind, text, principal, doc_type)
            times.append((time.perf_counter() - t0) * 1000)
        out[f"{kind}_p50_ms"] = round(statistics.median(times), 2)
        out[f"{kind}_p95_ms"] = round(percentile(times, 95), 2)
        # Sanity: hits per query (at most 10).
        out[f"{kind}_avg_results"] = round(found / max(1, len(queries[kind])), 2)
    return out


def add_visible(engine, docs: list[Doc], users: list[Principal], count: int, seed: int) -> float:
    """p95 ms from "add one entry" to "a partner's search finds it"."""
    rng = random.Random(seed + 3)
    times = []
    for i in range(count):
        template = rng.choice(docs).entry
        marker = f"zzfresh{seed}x{i}q"
        object_id = 10_000_000 + i
        entry = SearchEntry(key=make_key("document", object_id, "en"), kind="document", object_id=object_id,
                            language="en", title=f"Fresh {marker}", description="", body=f"{marker} {template.body[:500]}",
                            tags=template.tags, doc_type=template.doc_type, product=template.product,
                            published_at=NOW, access=IndexFields("published", None, frozenset({"rt:*:*"})))
        doc = Doc(20_000_000 + i, entry, [])
        user = rng.choice(users)
        t0 = time.perf_counter()
        engine.add(doc)
        found = engine.run("filtered_highlight", marker, user, None)
        times.append((time.perf_counter() - t0) * 1000)
        if not found:
            raise SystemExit(f"{engine.name}: the added entry is not visible")
    return round(percentile(times, 95), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=200, help="queries per kind")
    parser.add_argument("--adds", type=int, default=30, help="add-one-entry measurements")
    parser.add_argument("--build", choices=("rebuild", "apply"), default="rebuild",
                        help="kbportal's build path: rebuild (kbportal reindex) or apply batches + optimize")
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    parser.add_argument("--keep", help="build in this directory and keep it (default: a temp dir, removed); "
                                       "a later run with the same --docs/--seed/--keep reuses the indexes "
                                       "and only measures (build_s is the earlier build's)")
    args = parser.parse_args()

    def say(msg: str) -> None:
        if not args.json:
            print(msg, file=sys.stderr, flush=True)

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="kbportal-search-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        say(f"corpus: {args.docs} entries, seed {args.seed}")
        docs, vocab = make_corpus(args.docs, args.seed)
        queries = make_queries(docs, vocab, args.queries, args.seed)
        users = principals(random.Random(args.seed), 12)
        warmup = make_queries(docs, vocab, 10, args.seed + 100)
        for doc in docs:  # 300 word references per document: keep them out of the GC's way
            doc.body_words = []
        gc.collect()
        gc.freeze()  # the corpus is the harness's, not the engines': no full-heap GC passes over it
        result: dict = {"docs": args.docs, "seed": args.seed, "queries": args.queries}
        engines = [Kbportal(work / f"kbportal-{args.build}", args.build), Fts5(work / "fts5.db", vocab["en"].words)]
        built_file = work / "built.json"  # --keep: what was built there (reused by a later run)
        built = json.loads(built_file.read_text()) if args.keep and built_file.exists() else {}
        if built.get("corpus") != [args.docs, args.seed]:
            built = {"corpus": [args.docs, args.seed]}
        for engine in engines:
            label = getattr(engine, "label", engine.name)
            if label in built:  # same corpus built by an earlier --keep run: measure only
                build_s = built[label]
                say(f"{engine.name}: reusing the index built earlier ({build_s:.1f} s); querying")
            else:
                say(f"{engine.name}: indexing")
                t0 = time.perf_counter()
                engine.build(docs)
                build_s = time.perf_counter() - t0
                if args.keep:
                    built[label] = build_s
                    built_file.write_text(json.dumps(built))
                say(f"{engine.name}: built in {build_s:.1f} s; querying")
            measure(engine, warmup, users, args.seed + 100)
            stats = measure(engine, queries, users, args.seed)
            stats["build_s"] = round(build_s, 1)
            stats["build_ms_per_doc"] = round(1000 * build_s / max(1, args.docs), 2)
            if engine.name == "kbportal":
                stats["build"] = args.build
            stats["size_mb"] = round(engine.size_mb(), 1)
            stats["add_visible_p95_ms"] = add_visible(engine, docs, users, args.adds, args.seed)
            t0 = time.perf_counter()
            engine.compact()  # the indexer's idle-time merge (kbportal: small segments)
            stats["compact_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            result[engine.name] = stats
            say(json.dumps(stats))
        kb, fts = result["kbportal"], result["fts5"]
        result["targets"] = {
            "filtered_highlight_p95_le_50ms": kb["filtered_highlight_p95_ms"] <= 50,
            "add_visible_p95_le_100ms": kb["add_visible_p95_ms"] <= 100,
            "filtered_highlight_p95_within_2x_fts5": kb["filtered_highlight_p95_ms"] <= 2 * fts["filtered_highlight_p95_ms"],
        }
        print(json.dumps(result, indent=None if args.json else 2))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
