"""The search engine on a real Whoosh index: what users get back for what they type."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from kbportal.models import Role
from kbportal.services import access
from kbportal.services.access import AudienceRule, IndexFields, IndexFilter, Principal
from kbportal.services.search import (
    IndexCorrupt,
    IndexMissing,
    SearchEntry,
    SearchIndex,
    SearchQuery,
    SearchResult,
    make_key,
    open_index,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
EVERYONE = AudienceRule(all_regions=True)
TIERS = ("registered", "silver", "gold", "platinum")
STAFF = access.index_filter(Principal(user_id=1, role=Role.ADMIN), now=NOW)


def partner(region="EMEA", tier="gold", org_id=7) -> IndexFilter:
    principal = Principal(user_id=2, role=Role.PARTNER_USER, org_id=org_id, region=region, tier=tier,
                          eligible_tiers=frozenset(TIERS[:TIERS.index(tier) + 1]))
    return access.index_filter(principal, now=NOW)


def entry(object_id: int, title: str, body: str = "", *, lang: str = "en", kind: str = "document",
          source: str | None = None, status: str = "published", audience: AudienceRule | None = EVERYONE,
          expires: datetime | None = None, days_old: int = 10, tags: tuple[str, ...] = (),
          doc_type: str = "guide", product: str = "Alpha", description: str = "") -> SearchEntry:
    return SearchEntry(
        key=make_key(kind, object_id, lang), kind=kind, object_id=object_id, language=lang, title=title,
        description=description, body=body, tags=tags, doc_type=doc_type, product=product,
        published_at=NOW - timedelta(days=days_old),
        access=IndexFields(status, expires, access.audience_tokens(audience)),
        source_language=source or lang, is_translation=source is not None and source != lang,
    )


@pytest.fixture
def index(tmp_path: Path):
    ix = SearchIndex.create(tmp_path / "search")
    yield ix
    ix.close()


def search(index: SearchIndex, text: str, flt: IndexFilter = STAFF, **options) -> SearchResult:
    return index.search(SearchQuery(text=text, **options), flt)


def keys(result: SearchResult) -> list[str]:
    return [hit.key for hit in result.hits]


def ids(result: SearchResult) -> list[int]:
    return [hit.object_id for hit in result.hits]


# --------------------------------------------------------------------------- writing and visibility


def test_an_applied_entry_is_found_by_the_next_search(index):
    index.apply([entry(1, "Router installation guide")], [])
    assert keys(search(index, "router")) == ["document:1:en"]


def test_an_update_replaces_the_old_text(index):
    index.apply([entry(1, "Router guide")], [])
    index.apply([entry(1, "Switch guide")], [])
    assert keys(search(index, "router")) == []
    assert keys(search(index, "switch")) == ["document:1:en"]
    assert index.stats().doc_count == 1


def test_a_deleted_entry_disappears(index):
    index.apply([entry(1, "Router guide"), entry(2, "Router manual")], [])
    index.apply([], ["document:1:en"])
    assert keys(search(index, "router")) == ["document:2:en"]


def test_updates_and_deletes_in_unmerged_segments_are_seen_by_a_reused_searcher(index):
    for i in (1, 2, 3):  # small commits: one segment each, not merged
        index.apply([entry(i, f"Router {i}")], [])
    assert search(index, "router").total == 3
    index.apply([entry(1, "Switch 1")], ["document:2:en"])
    assert ids(search(index, "router")) == [3]
    assert ids(search(index, "switch")) == [1]


def test_an_entry_replaced_again_and_again_across_commits_and_merges_is_found_once(index):
    for round_ in range(6):  # each replacement deletes the copy in an older, maybe merged, segment
        index.apply([entry(1, f"Router edition{round_}"), entry(100 + round_, "Switch")], [])
        if round_ == 3:
            index.compact()
    assert ids(search(index, "router")) == [1]
    assert keys(search(index, "edition5")) == ["document:1:en"]
    assert keys(search(index, "edition4")) == []
    assert index.stats().doc_count == 7


def test_compact_merges_small_segments_without_changing_results(index):
    for i in range(1, 8):
        index.apply([entry(i, f"Router {i}")], [])
    before = index.stats().segments
    index.compact()
    assert index.stats().segments < before
    assert search(index, "router").total == 7
    index.optimize()
    assert index.stats().segments == 1 and search(index, "router").total == 7


def test_a_key_both_upserted_and_deleted_in_one_call_is_deleted(index):
    index.apply([entry(1, "Router guide")], ["document:1:en"])
    assert search(index, "router").total == 0


def test_stats_count_live_entries_and_report_size(index):
    index.apply([entry(1, "Router"), entry(2, "Switch")], [])
    stats = index.stats()
    assert stats.doc_count == 2 and stats.size_bytes > 0 and stats.healthy
    assert stats.last_modified is not None


# --------------------------------------------------------------------------- access inside the query


def test_a_partner_sees_only_entries_its_audience_admits(index):
    index.apply([
        entry(1, "Router for EMEA", audience=AudienceRule(regions=frozenset({"EMEA"}))),
        entry(2, "Router for APAC", audience=AudienceRule(regions=frozenset({"APAC"}))),
        entry(3, "Router for platinum", audience=AudienceRule(all_regions=True, min_tier="platinum")),
        entry(4, "Router for org 7", audience=AudienceRule(org_ids=frozenset({7}))),
        entry(5, "Router draft", status="draft"),
        entry(6, "Router without audience", audience=None),
    ], [])
    assert sorted(ids(search(index, "router", partner("EMEA", "gold", org_id=7)))) == [1, 4]
    assert search(index, "router").total == 6  # staff see everything


def test_the_access_filter_applies_before_the_limit(index):
    forbidden = AudienceRule(regions=frozenset({"APAC"}))
    index.apply([entry(i, "Router router router", "router " * 5, audience=forbidden) for i in range(1, 31)]
                + [entry(99, "Manual", "a long text that mentions the router once " * 5)], [])
    result = search(index, "router", partner("EMEA"), page_size=10)
    assert ids(result) == [99] and result.total == 1 and result.page_count == 1


def test_match_nothing_returns_no_hits(index):
    index.apply([entry(1, "Router")], [])
    result = search(index, "router", IndexFilter(match_nothing=True))
    assert result.hits == () and result.total == 0 and result.facets == {}


def test_an_empty_token_set_means_no_hits_not_no_filter(index):
    index.apply([entry(1, "Router")], [])
    empty = IndexFilter(statuses=frozenset({"published"}), any_tokens=frozenset(), now=NOW)
    assert search(index, "router", empty).total == 0
    assert index.suggest("rou", empty) == []


def test_a_filter_matching_no_document_means_no_hits_not_no_filter(index):
    index.apply([entry(1, "Router", audience=AudienceRule(regions=frozenset({"APAC"})))], [])
    assert search(index, "router", partner("EMEA")).total == 0


def test_expired_entries_are_hidden_from_partners_at_query_time(index):
    index.apply([entry(1, "Router", expires=NOW + timedelta(hours=1))], [])
    before = partner()
    assert search(index, "router", before).total == 1
    later = IndexFilter(statuses=before.statuses, any_tokens=before.any_tokens, now=NOW + timedelta(hours=2))
    assert search(index, "router", later).total == 0  # same access class, cached set: still checked
    assert search(index, "router", STAFF).total == 1


# --------------------------------------------------------------------------- filters and facets


@pytest.fixture
def catalogue(index):
    index.apply([
        entry(1, "Router datasheet", doc_type="datasheet", product="Alpha", tags=("network", "hardware"), days_old=400),
        entry(2, "Router guide", doc_type="guide", product="Alpha", tags=("network",), days_old=40),
        entry(3, "Router guide", doc_type="guide", product="Beta", tags=("setup",), days_old=4),
        entry(4, "Router forum thread", kind="post", doc_type="", product="Beta", days_old=2),
        entry(3, "Router Anleitung", lang="de", source="en", doc_type="guide", product="Beta", tags=("setup",), days_old=4),
    ], [])
    return index


@pytest.mark.parametrize("options, expected", [
    ({"doc_types": frozenset({"guide"})}, [2, 3]),
    ({"doc_types": frozenset({"guide", "datasheet"})}, [1, 2, 3]),
    ({"products": frozenset({"Beta"})}, [3, 4]),
    ({"tags": frozenset({"network"})}, [1, 2]),
    ({"kinds": frozenset({"post"})}, [4]),
    ({"languages": frozenset({"de"})}, [3]),
    ({"date_from": date(2026, 4, 1)}, [2, 3, 4]),
    ({"date_to": (NOW - timedelta(days=30)).date()}, [1, 2]),
    ({"date_from": NOW - timedelta(days=5), "date_to": NOW - timedelta(days=3)}, [3]),
])
def test_filters_narrow_the_hits(catalogue, options, expected):
    assert sorted(ids(search(catalogue, "router", **options))) == expected


def test_facets_count_objects_with_every_other_filter_applied(catalogue):
    result = search(catalogue, "router", products=frozenset({"Beta"}))
    facets = dict((name, dict(rows)) for name, rows in result.facets.items())
    assert facets["doc_type"] == {"guide": 1}
    assert facets["kind"] == {"document": 1, "post": 1}
    # The product facet ignores the product filter, so the user sees the alternatives.
    assert facets["product"] == {"Alpha": 2, "Beta": 2}
    assert facets["language"] == {"en": 2, "de": 1}
    assert facets["tags"] == {"setup": 1}


def test_facets_count_a_translated_document_once(catalogue):
    facets = search(catalogue, "router").facets
    assert dict(facets["doc_type"])["guide"] == 2  # objects 2 and 3 (3 has an en and a de entry)
    assert search(catalogue, "router").total == 4


def test_facets_count_only_what_the_user_may_see(index):
    index.apply([entry(1, "Router", doc_type="guide"),
                 entry(2, "Router", doc_type="secret", audience=AudienceRule(regions=frozenset({"APAC"})))], [])
    assert search(index, "router", partner("EMEA")).facets["doc_type"] == [("guide", 1)]


def test_a_selected_filter_value_stays_in_its_facet_even_without_matches(catalogue):
    result = search(catalogue, "router", doc_types=frozenset({"brochure"}))
    assert result.total == 0
    assert ("brochure", 0) in result.facets["doc_type"]


# --------------------------------------------------------------------------- query syntax


@pytest.fixture
def animals(index):
    index.apply([
        entry(1, "Cats", "the quick brown fox jumps over the lazy dog"),
        entry(2, "Dogs", "a brown dog sleeps; the fox is quick"),
        entry(3, "Birds", "a quick bird"),
    ], [])
    return index


def test_all_words_are_required_by_default(animals):
    assert sorted(ids(search(animals, "quick fox"))) == [1, 2]


def test_a_phrase_matches_adjacent_words_only(animals):
    assert ids(search(animals, '"brown fox"')) == [1]


def test_or_matches_either_word(animals):
    assert sorted(ids(search(animals, "bird OR dog"))) == [1, 2, 3]


def test_not_and_minus_exclude_a_word(animals):
    assert sorted(ids(search(animals, "quick NOT dog"))) == [3]
    assert sorted(ids(search(animals, "quick -fox"))) == [3]


def test_a_hyphen_inside_a_word_is_not_an_exclusion(index):
    index.apply([entry(1, "E-mail setup"), entry(2, "Mail server")], [])
    assert ids(search(index, "e-mail")) == [1]
    assert ids(search(index, "server -e-mail")) == [2]


def test_parentheses_group(animals):
    assert sorted(ids(search(animals, "quick AND (bird OR lazy)"))) == [1, 3]


def test_a_prefix_finds_every_completion(animals):
    assert sorted(ids(search(animals, "slee*"))) == [2]


def test_a_fuzzy_word_tolerates_a_typo(animals):
    assert sorted(ids(search(animals, "brwn~"))) == [1, 2]


@pytest.mark.parametrize("text", ['"unterminated phrase', "((fox", "fox AND", "OR", ")(", "*", "fox^^", "~", 'x:"'])
def test_malformed_syntax_never_raises(animals, text):
    result = search(animals, text)
    assert not result.degraded


def test_an_unbalanced_query_still_finds_its_words(animals):
    assert sorted(ids(search(animals, '"quick fox'))) == [1, 2]


def test_when_no_entry_has_every_word_the_search_relaxes_to_any_word(animals):
    result = search(animals, "lazy bird penguin")
    assert result.relaxed
    assert sorted(ids(result)) == [1, 3]


def test_relaxed_results_rank_entries_matching_more_words_first(index):
    index.apply([entry(1, "One", "alpha filler filler"), entry(2, "Two", "alpha beta filler")], [])
    result = search(index, "alpha beta gamma")
    assert result.relaxed and ids(result) == [2, 1]


# --------------------------------------------------------------------------- ranking and pages


def test_an_entry_with_every_word_ranks_before_one_with_some(index):
    index.apply([entry(1, "One", "router setup " + "filler " * 5),
                 entry(2, "Two", "router " + "filler " * 6)], [])
    assert ids(search(index, "router setup")) == [1]


def test_a_title_match_ranks_before_a_body_match(index):
    index.apply([entry(1, "Overview", "the firewall keeps partners safe"),
                 entry(2, "Firewall", "the device keeps partners safe")], [])
    assert ids(search(index, "firewall")) == [2, 1]


def test_equal_scores_rank_the_newest_first(index):
    index.apply([entry(i, "Router guide", "router text", days_old=days) for i, days in ((1, 30), (2, 3), (3, 300))], [])
    assert ids(search(index, "router")) == [2, 1, 3]


def test_pages_split_the_hits(index):
    index.apply([entry(i, f"Router {i}", days_old=i) for i in range(1, 26)], [])
    first = search(index, "router", page=1, page_size=10)
    third = search(index, "router", page=3, page_size=10)
    assert first.total == 25 and first.page_count == 3
    assert ids(first) == list(range(1, 11)) and ids(third) == list(range(21, 26))
    assert search(index, "router", page=4, page_size=10).hits == ()


# --------------------------------------------------------------------------- languages


def test_language_variants_collapse_into_one_hit_in_the_users_language(index):
    index.apply([entry(1, "Router guide", "router"),
                 entry(1, "Router Anleitung", "router", lang="de", source="en"),
                 entry(1, "Guide du router", "router", lang="fr", source="en")], [])
    result = search(index, "router", language="de")
    assert keys(result) == ["document:1:de"] and result.total == 1
    assert result.hits[0].other_languages == ("en", "fr")


def test_without_a_matching_variant_in_the_users_language_the_source_is_shown(index):
    index.apply([entry(1, "Router guide", "router"),
                 entry(1, "Anleitung", "Gerät", lang="de", source="en"),
                 entry(1, "Guide du router", "router", lang="fr", source="en")], [])
    assert keys(search(index, "router", language="de")) == ["document:1:en"]


def test_a_german_user_finds_an_english_only_document_with_an_english_word(index):
    index.apply([entry(1, "Installation guide", "how to install the router")], [])
    assert ids(search(index, "installing", language="de")) == [1]


def test_a_german_query_is_stemmed_the_german_way(index):
    index.apply([entry(1, "Häuser und Geräte", "", lang="de")], [])
    assert ids(search(index, "haus", language="de")) == [1]


def test_a_stop_word_of_another_language_does_not_block_a_match(index):
    # "die" is a German stop word but not an English one: German entries still match.
    index.apply([entry(1, "Die Installation", "", lang="de")], [])
    assert ids(search(index, "die installation", language="de")) == [1]


def test_a_japanese_substring_is_found(index):
    index.apply([entry(1, "東京都庁の案内", "", lang="ja")], [])
    assert ids(search(index, "京都庁", language="ja")) == [1]
    assert ids(search(index, "庁", language="ja")) == [1]
    assert ids(search(index, "大阪", language="ja")) == []


def test_an_indonesian_query_meets_affixed_words(index):
    index.apply([entry(1, "Panduan produknya", "dokumen ini dikirim", lang="id")], [])
    assert ids(search(index, "produk kirim", language="id")) == [1]


# --------------------------------------------------------------------------- snippets


def test_markup_in_titles_and_text_is_escaped(index):
    index.apply([entry(1, "Router <script>alert(1)</script>", "router & <b>switch</b>")], [])
    hit = search(index, "router").hits[0]
    assert "<script>" not in hit.title_html and "&lt;script&gt;" in hit.title_html
    assert "<b>" not in hit.snippet and "&lt;b&gt;" in hit.snippet and "&amp;" in hit.snippet
    assert hit.title == "Router <script>alert(1)</script>"  # plain: the UI escapes it


def test_snippets_mark_every_inflection_of_the_query_words(index):
    index.apply([entry(1, "Guide", "We install routers. Installing takes minutes.")], [])
    snippet = search(index, "installation").hits[0].snippet
    assert "<mark>install</mark>" in snippet and "<mark>Installing</mark>" in snippet


def test_accented_and_affixed_words_are_marked_too(index):
    index.apply([entry(1, "Die Übersicht", "Häuser und Geräte", lang="de"),
                 entry(2, "Panduan", "Dokumen ini dibuat untuk mitra", lang="id")], [])
    assert "<mark>Übersicht</mark>" in search(index, "ubersicht", language="de").hits[0].title_html
    assert "<mark>Häuser</mark>" in search(index, "haus", language="de").hits[0].snippet
    assert "<mark>dibuat</mark>" in search(index, "buat", language="id").hits[0].snippet


def test_the_snippet_shows_the_part_of_a_long_text_with_the_match(index):
    index.apply([entry(1, "Guide", "filler words here. " * 300 + "The firewall appears late.")], [])
    snippet = search(index, "firewall").hits[0].snippet
    assert "<mark>firewall</mark>" in snippet and snippet.startswith("…")
    assert len(snippet) < 400


def test_a_cjk_snippet_marks_the_substring(index):
    index.apply([entry(1, "案内", "東京都庁の案内です", lang="ja")], [])
    assert "<mark>京都庁</mark>" in search(index, "京都庁", language="ja").hits[0].snippet


# --------------------------------------------------------------------------- did you mean, suggestions


def test_a_misspelled_query_gets_a_correction_that_finds_something(index):
    index.apply([entry(1, "Firewall configuration", "security settings")], [])
    result = search(index, "firewal configuraton")
    assert result.total == 0 and result.suggestion == "firewall configuration"


def test_no_correction_is_offered_towards_words_only_forbidden_entries_contain(index):
    index.apply([entry(1, "Firewall", audience=AudienceRule(regions=frozenset({"APAC"})))], [])
    assert search(index, "firewal", partner("EMEA")).suggestion is None
    assert search(index, "firewal", STAFF).suggestion == "firewall"


def test_no_correction_when_the_query_finds_something(index):
    index.apply([entry(1, "Firewall")], [])
    assert search(index, "firewall").suggestion is None


def test_suggest_completes_titles_the_user_may_see(index):
    index.apply([entry(1, "Installation guide"), entry(2, "Install checklist", days_old=1),
                 entry(3, "Installer secrets", audience=AudienceRule(regions=frozenset({"APAC"}))),
                 entry(4, "Pricing")], [])
    assert index.suggest("inst", partner("EMEA")) == ["Install checklist", "Installation guide"]
    assert index.suggest("installation gu", partner("EMEA")) == ["Installation guide"]


def test_suggest_prefers_the_title_in_the_users_language(index):
    index.apply([entry(1, "Router guide"), entry(1, "Router Anleitung", lang="de", source="en")], [])
    assert index.suggest("rout", STAFF, language="de") == ["Router Anleitung"]


# --------------------------------------------------------------------------- rebuild, damage


def test_rebuild_replaces_the_contents(index):
    index.apply([entry(1, "Old router")], [])
    index.rebuild([entry(2, "New router")])
    assert ids(search(index, "router")) == [2]


def test_searches_keep_answering_while_a_rebuild_runs(index):
    index.apply([entry(1, "Router")], [])
    answers: list[int] = []
    started = threading.Event()

    def entries():
        started.set()
        for i in range(2, 400):
            if i % 50 == 0:
                answers.append(search(index, "router").total)  # mid-rebuild, same process
            yield entry(i, f"Router {i}")

    index.rebuild(entries())
    assert answers and all(total == 1 for total in answers)  # the old index answered
    assert search(index, "router").total == 398


def test_apply_during_a_rebuild_is_kept(index):
    def entries():
        yield entry(1, "Router")
        index.apply([entry(2, "Router two")], [])  # e.g. the indexer thread, meanwhile
    index.rebuild(entries())
    assert sorted(ids(search(index, "router"))) == [1, 2]


def test_another_instance_sees_a_rebuild_on_its_next_search(index, tmp_path):
    reader = SearchIndex.open(tmp_path / "search")
    index.apply([entry(1, "Router")], [])
    assert search(reader, "router").total == 1
    index.rebuild([entry(2, "Router"), entry(3, "Router")])
    assert search(reader, "router").total == 2
    reader.close()


def test_a_missing_index_is_created_empty_and_reported(tmp_path):
    ix = open_index(tmp_path / "nothing-here")
    assert not ix.healthy and "missing" in ix.problem
    assert search(ix, "router").total == 0
    ix.rebuild([entry(1, "Router")])
    assert ix.healthy and search(ix, "router").total == 1


def test_a_deleted_index_directory_is_detected_not_a_crash(index, tmp_path):
    index.apply([entry(1, "Router")], [])
    import shutil

    shutil.rmtree(tmp_path / "search")
    with pytest.raises(IndexMissing):
        index.check()
    result = search(index, "router")
    assert result.degraded and result.hits == ()
    assert not index.healthy


def _damage_segments(root: Path) -> None:
    for seg in root.glob("ix-*/*.seg"):
        data = seg.read_bytes()
        seg.write_bytes(data[: len(data) // 3] + b"\x00garbage" * 50)


def test_a_damaged_segment_is_detected_and_rebuild_repairs_it(index, tmp_path):
    index.apply([entry(i, f"Router {i}") for i in range(1, 20)], [])
    _damage_segments(tmp_path / "search")
    with pytest.raises(IndexCorrupt):
        index.check()
    reopened = open_index(tmp_path / "search")
    assert not reopened.healthy
    result = search(reopened, "router")
    assert result.degraded and result.hits == ()
    assert reopened.suggest("rou", STAFF) == []
    reopened.rebuild([entry(1, "Router")])
    assert reopened.healthy and search(reopened, "router").total == 1
    reopened.check()
    reopened.close()


def test_an_index_built_by_another_schema_version_asks_for_a_rebuild(index, tmp_path):
    for schema_file in (tmp_path / "search").glob("ix-*/SCHEMA"):
        schema_file.write_text("0\n")
    reopened = open_index(tmp_path / "search")
    assert not reopened.healthy and "schema" in reopened.problem
    with pytest.raises(IndexCorrupt):
        reopened.check()


def test_concurrent_searches_from_threads_agree(index):
    index.apply([entry(i, f"Router {i}", "router switch") for i in range(1, 60)], [])
    totals: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            for page in range(1, 5):
                totals.append(search(index, "router switch", page=page).total)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and set(totals) == {59}
